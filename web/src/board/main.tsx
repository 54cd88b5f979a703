/** Entry of the class board bundle, served at /board/: always dark, sized from the viewport for a wall screen. */
import { render } from 'preact';
import { BoardApp } from './board-app.tsx';
import { rememberPreferences } from './choice.ts';
import { createDeviceSignIn } from './device-sign-in.ts';
import './board.css';

document.documentElement.classList.add('board-page');

let storage: Storage | undefined;
try {
  storage = window.localStorage;
} catch {
  // A browser with storage disabled still shows the board; it forgets its choices on reload.
}

// A link from the coach page (/board/?gym=…&run=…) opens that run: it becomes the remembered choice, and the
// address goes back to /board/ so a reload later follows what the screen remembers.
const query = new URLSearchParams(location.search);
const linked = { gym: query.get('gym') ?? undefined, run: query.get('run') ?? undefined };
if (linked.run !== undefined) {
  rememberPreferences(storage, linked.gym === undefined ? { run: linked.run } : linked);
  history.replaceState(null, '', location.pathname);
}

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
render(<BoardApp createSignIn={createDeviceSignIn} storage={storage} browserLanguages={navigator.languages} />, root);
