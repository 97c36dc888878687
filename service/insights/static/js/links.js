// Links into the FlowPilot product, built from the templates the server is configured with
// (INSIGHTS_FLOW_EDITOR_URL, INSIGHTS_CREATE_FLOW_URL). Without a template, no link.

function template(name) {
  const meta = document.querySelector(`meta[name="${name}"]`);
  return meta && meta.content ? meta.content : null;
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? encodeURIComponent(values[key]) : whole));
}

/** The flow editor's address for a flow, or null when the page has no template. */
export function flowEditorUrl(flowId) {
  const text = template("flowpilot-flow-editor-url");
  return text ? fill(text, { flowId }) : null;
}

/** Where a flow for `domain` is created, or null when the page has no template. */
export function createFlowUrl(domain) {
  const text = template("flowpilot-create-flow-url");
  return text ? fill(text, { domain }) : null;
}
