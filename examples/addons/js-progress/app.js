// js-progress: draws a run's progress as a bar with one row per node, and
// lets the person fold the rows away.

import { VTree } from "./symphony.js";

const MARKS = { completed: "✓", failed: "✗", running: "▶", skipped: "–" };

export default class Progress {
  constructor() {
    this.showNodes = true;
  }

  render(state) {
    const nodes = Array.isArray(state?.nodes) ? state.nodes : [];
    const done = nodes.filter((n) => n.state === "completed" || n.state === "skipped").length;
    const tree = new VTree();
    const title = state?.workflow ?? "run";
    const root = tree.push(undefined, "panel", { title: `${title}: ${state?.state ?? "pending"}` });
    const percent = nodes.length ? Math.round((100 * done) / nodes.length) : 0;
    tree.push(root, "progress", { value: done, max: nodes.length }, `${percent}%`);
    tree.push(root, "button", { action: "toggle-nodes" }, this.showNodes ? "hide nodes" : "show nodes");
    if (this.showNodes) {
      const list = tree.push(root, "list");
      for (const node of nodes) {
        const mark = MARKS[node.state] ?? "·";
        tree.push(list, "row", { node: node.id, state: node.state ?? "pending" }, `${mark} ${node.id}`);
      }
    }
    return tree;
  }

  handleEvent(event) {
    if (event.name === "click" || event.name === "toggle-nodes") {
      this.showNodes = !this.showNodes;
      return { show_nodes: this.showNodes };
    }
    return { ignored: event.name };
  }

  getState() {
    return { show_nodes: this.showNodes };
  }

  snapshot() {
    return JSON.stringify(this.getState());
  }

  restore(state) {
    this.showNodes = JSON.parse(new TextDecoder().decode(state)).show_nodes !== false;
  }
}
