// A static SPA: the node lives in the browser, there is nothing to render on a server.
export const ssr = false;
export const prerender = false;
