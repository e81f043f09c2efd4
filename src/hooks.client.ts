/**
 * Client-side errors SvelteKit would otherwise turn into a bare "500 Internal Error" page. A page's code that failed
 * to load (a network blip while the service worker was taking over, or an app update replacing the files) is
 * retried once by reloading; anything else is logged with its cause, so it can be reported.
 */
import type { HandleClientError } from '@sveltejs/kit';

const RELOADED_KEY = 'hearthnet.reloadedAfterChunkError';
const CHUNK_LOAD_FAILURE = /dynamically imported module|Importing a module script failed|error loading dynamically imported module/i;

export const handleError: HandleClientError = ({ error, status, message }) => {
  const text = error instanceof Error ? error.message : String(error);
  console.error(`[hearthnet] ${status} ${message}: ${text}`);
  if (CHUNK_LOAD_FAILURE.test(text) && !sessionStorage.getItem(RELOADED_KEY)) {
    sessionStorage.setItem(RELOADED_KEY, '1');
    location.reload();
    return { message: 'Reloading…' };
  }
  return { message: status === 404 ? 'Not found' : `Something went wrong: ${text}` };
};
