import assert from 'node:assert/strict';
import { test } from 'node:test';
import { projectTrack } from '../src/me/track.ts';

const box = { width: 300, height: 200, margin: 10 };

test('a track is fitted into the box with its margin, north up, start and finish marked', () => {
  // A square of 0.01 degree on the equator: as wide as tall, so it fills the height and is centred.
  const track = projectTrack(
    [
      [0, 0],
      [0.01, 0],
      [0.01, 0.01],
      [0, 0.01],
    ],
    box,
  )!;
  assert.equal(track.path, 'M60 190 L60 10 L240 10 L240 190');
  assert.deepEqual(track.start, { x: 60, y: 190 });
  assert.deepEqual(track.finish, { x: 240, y: 190 });
});

test('longitude is scaled by the cosine of the latitude, so a square far north stays square', () => {
  // At 60° a degree of longitude is half as long as one of latitude.
  const track = projectTrack(
    [
      [60, 10],
      [60.01, 10.02],
    ],
    box,
  )!;
  const width = Math.abs(track.finish.x - track.start.x);
  const height = Math.abs(track.finish.y - track.start.y);
  assert.ok(Math.abs(width - height) < 1, `${width} x ${height}`);
});

test('gaps without a position split the line, invalid positions are skipped, and no position gives no map', () => {
  const track = projectTrack([[0, 0], null, [0, 0.01], [91, 0], [0, 0.02]], box)!;
  assert.equal(track.path.match(/M/g)!.length, 3);
  assert.equal(projectTrack([null, [Number.NaN, 1]], box), undefined);
  assert.equal(projectTrack([], box), undefined);
});

test('a single point sits in the middle of the box', () => {
  const track = projectTrack([[55.75, 37.62]], box)!;
  assert.deepEqual(track.start, { x: 150, y: 100 });
  assert.equal(track.path, 'M150 100');
});
