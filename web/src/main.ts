/** Picks the page for the current path. Links are ordinary links: each page is its own small load. */
import './style.css';
import { renderEditorPage } from './pages/editorPage.js';
import { renderGigPage } from './pages/gigPage.js';
import { renderSearchPage } from './pages/searchPage.js';
import { renderUserPage } from './pages/userPage.js';
import { showProblem } from './pageStatus.js';

const root = document.getElementById('app')!;
const path = location.pathname.replace(/\/+$/, '') || '/';
const segment = (prefix: string) => (path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : null);

async function route(): Promise<void> {
  const gigId = segment('/gigs/');
  const username = segment('/users/');
  if (path === '/' || path === '/search') return renderSearchPage(root, new URLSearchParams(location.search));
  if (gigId) return renderGigPage(root, gigId);
  if (username) return renderUserPage(root, username);
  if (path === '/me/top-clients') return renderEditorPage(root);
  showProblem(root, 'Page not found', `Nothing lives at ${path}.`);
}

route().catch((error: unknown) => {
  console.error(error);
  showProblem(root, 'Something went wrong', 'Please reload the page.');
});
