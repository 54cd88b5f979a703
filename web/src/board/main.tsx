/** Entry of the class board bundle, served at /board/: always dark, sized from the viewport for a wall screen. */
import { render } from 'preact';
import { BoardApp } from './board-app.tsx';
import { deviceSignIn } from './device-sign-in.ts';
import { BOARD_CSS } from './style.ts';

// The styles travel inside the bundle: the screen loads one script and nothing else, from the hub only.
const style = document.createElement('style');
style.textContent = BOARD_CSS;
document.head.append(style);
document.documentElement.classList.add('board-page');
document.title = 'Pulsebridge';

let storage: Storage | undefined;
try {
  storage = window.localStorage;
} catch {
  // A browser with storage disabled still shows the board; it forgets its choices on reload.
}

const root = document.getElementById('board') ?? document.body.appendChild(document.createElement('div'));
render(<BoardApp signIn={deviceSignIn} storage={storage} browserLanguages={navigator.languages} />, root);
