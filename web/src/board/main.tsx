/** Entry of the class board bundle, served at /board/: always dark, sized from the viewport for a wall screen. */
import { render } from 'preact';
import { BoardApp } from './board-app.tsx';
import { createDeviceSignIn } from './device-sign-in.ts';
import './board.css';

document.documentElement.classList.add('board-page');

let storage: Storage | undefined;
try {
  storage = window.localStorage;
} catch {
  // A browser with storage disabled still shows the board; it forgets its choices on reload.
}

const root = document.getElementById('root') ?? document.body.appendChild(document.createElement('div'));
render(<BoardApp createSignIn={createDeviceSignIn} storage={storage} browserLanguages={navigator.languages} />, root);
