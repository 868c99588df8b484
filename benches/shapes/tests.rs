use super::*;

#[test]
fn every_shape_validates_with_the_asked_node_count() {
    for shape in Shape::ALL {
        for n in [5, 10, 1000] {
            let wf = workflow(shape, n);
            assert_eq!(wf.nodes.len(), n);
            wf.validate_structure()
                .unwrap_or_else(|e| panic!("{} of {n}: {e}", shape.name()));
        }
    }
}
