// Every namespace, link, directory and container these tests create starts with one of these.
/** Namespaces, links, temp dirs, network names of the CNI e2e suites. */
export const E2E_PREFIX = 'pnt-e';
/** podman containers, images, networks and storage of the podman suite. */
export const PODMAN_PREFIX = 'pnt-pod';
