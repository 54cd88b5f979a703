/** Placeholder of the class board's entry (the board's own engineer replaces it): proves the board bundle builds. */
import { render } from 'preact';
import '../styles/board.css';

render(
  <main>
    <h1>Pulsebridge</h1>
  </main>,
  document.getElementById('root')!,
);
