/** The RuntimeClass that selects Switchyard's CRI handler. */
export const RUNTIMECLASS = `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: switchyard
handler: switchyard
`;
