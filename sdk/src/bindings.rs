//! Guest bindings generated from `wit/since_v0.1.1`.
//!
//! The frozen worlds (`instrument-extension`, ...) each export `lifecycle`,
//! and wit-bindgen names an interface's export macro after the interface, so
//! generating the three worlds in one crate would define that macro three
//! times. Instead the SDK generates one private world per piece: the imports,
//! `lifecycle`, and each kind's interface. A `register_*!` macro invokes the
//! lifecycle export and its kind's export; wit-component merges their type
//! sections into exactly the kind's world (imports `host`, exports
//! `lifecycle` and the kind's interface).
//!
//! `pub_export_macro` places each world's type section inside its export
//! macro, so a component describes only what it really exports.

/// `types` and the `host` imports, shared by every kind.
pub mod imports {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        inline: "package symphony:sdk;
                 world imports { import symphony:extension/host@0.1.1; }",
        world: "symphony:sdk/imports",
        runtime_path: "::symphony_sdk::__internal::rt",
        generate_all,
    });
}

/// The `lifecycle` export.
pub mod lifecycle {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        inline: "package symphony:sdk;
                 world lifecycle { export symphony:extension/lifecycle@0.1.1; }",
        world: "symphony:sdk/lifecycle",
        pub_export_macro: true,
        export_macro_name: "export_lifecycle_world",
        default_bindings_module: "::symphony_sdk::__internal::lifecycle",
        runtime_path: "::symphony_sdk::__internal::rt",
        with: { "symphony:extension/types@0.1.1": crate::bindings::imports::symphony::extension::types },
    });
}

/// The `instrument` export.
pub mod instrument {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        inline: "package symphony:sdk;
                 world instrument { export symphony:extension/instrument@0.1.1; }",
        world: "symphony:sdk/instrument",
        pub_export_macro: true,
        export_macro_name: "export_instrument_world",
        default_bindings_module: "::symphony_sdk::__internal::instrument",
        runtime_path: "::symphony_sdk::__internal::rt",
        with: { "symphony:extension/types@0.1.1": crate::bindings::imports::symphony::extension::types },
    });
}

/// The `operator` export.
pub mod operator {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        inline: "package symphony:sdk;
                 world operator { export symphony:extension/operator@0.1.1; }",
        world: "symphony:sdk/operator",
        pub_export_macro: true,
        export_macro_name: "export_operator_world",
        default_bindings_module: "::symphony_sdk::__internal::operator",
        runtime_path: "::symphony_sdk::__internal::rt",
        with: { "symphony:extension/types@0.1.1": crate::bindings::imports::symphony::extension::types },
    });
}

/// The `addon` export.
pub mod addon {
    wit_bindgen::generate!({
        path: "../wit/since_v0.1.1",
        inline: "package symphony:sdk;
                 world addon { export symphony:extension/addon@0.1.1; }",
        world: "symphony:sdk/addon",
        pub_export_macro: true,
        export_macro_name: "export_addon_world",
        default_bindings_module: "::symphony_sdk::__internal::addon",
        runtime_path: "::symphony_sdk::__internal::rt",
        with: { "symphony:extension/types@0.1.1": crate::bindings::imports::symphony::extension::types },
    });
}
