/**
 * An AdmissionReview v1 (admission.k8s.io/v1) for a CREATE of a Pod whose containers run
 * `images`, as the API server sends it to a validating or mutating webhook.
 */
export function podReview(o: { readonly namespace: string; readonly images: readonly string[]; readonly uid?: string; readonly username?: string; readonly name?: string }) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? 'u-1',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      ...(o.name !== undefined ? { name: o.name } : {}),
      namespace: o.namespace,
      operation: 'CREATE',
      userInfo: { username: o.username ?? 'x' },
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: o.namespace }, spec: { containers: o.images.map((image, i) => ({ name: `c${i}`, image })) } },
      oldObject: null,
      dryRun: false,
    },
  };
}
