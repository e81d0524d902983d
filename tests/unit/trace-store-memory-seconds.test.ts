import test from "ava";
import { lifetimeMbSeconds, memoryMbSeconds, overlapUs, type ContainerLifetime } from "../../services/trace-store/memory-seconds.js";

const S = 1_000_000;
const open = { sinceUs: null, untilUs: null };

test("overlapUs", (t) => {
  t.is(overlapUs(0, 10, 2, 5), 3);
  t.is(overlapUs(0, 10, 5, 20), 5);
  t.is(overlapUs(0, 10, 10, 20), 0);
  t.is(overlapUs(0, 10, 20, 30), 0);
});

test("a closed lifetime with one limit: seconds × MB", (t) => {
  const life: ContainerLifetime = { createdAtUs: 0, removedAtUs: 10 * S, limits: [{ fromUs: 0, memoryMb: 256 }] };
  t.is(lifetimeMbSeconds(life, open, 100 * S), 2560);
});

// A zygote of 512 MB lent as a 256 MB helper at 4 s, removed at 10 s.
const resized: ContainerLifetime = {
  createdAtUs: 0,
  removedAtUs: 10 * S,
  limits: [
    { fromUs: 0, memoryMb: 512 },
    { fromUs: 4 * S, memoryMb: 256 },
  ],
};

test("a resize charges each limit for its own time", (t) => {
  t.is(lifetimeMbSeconds(resized, open, 100 * S), 4 * 512 + 6 * 256);
});

test("windows cut the lifetime: inside, across the resize, at the edges, outside", (t) => {
  t.is(lifetimeMbSeconds(resized, { sinceUs: 1 * S, untilUs: 3 * S }, 100 * S), 2 * 512);
  t.is(lifetimeMbSeconds(resized, { sinceUs: 2 * S, untilUs: 6 * S }, 100 * S), 2 * 512 + 2 * 256);
  t.is(lifetimeMbSeconds(resized, { sinceUs: 8 * S, untilUs: null }, 100 * S), 2 * 256);
  t.is(lifetimeMbSeconds(resized, { sinceUs: null, untilUs: 1 * S }, 100 * S), 512);
  t.is(lifetimeMbSeconds(resized, { sinceUs: 10 * S, untilUs: 20 * S }, 100 * S), 0);
  t.is(lifetimeMbSeconds(resized, { sinceUs: -5 * S, untilUs: 0 }, 100 * S), 0);
});

test("a living container is charged until now, never for the future", (t) => {
  const living: ContainerLifetime = { createdAtUs: 0, removedAtUs: null, limits: [{ fromUs: 0, memoryMb: 100 }] };
  t.is(lifetimeMbSeconds(living, open, 3 * S), 300);
  t.is(lifetimeMbSeconds(living, { sinceUs: 1 * S, untilUs: 50 * S }, 3 * S), 200);
  t.is(lifetimeMbSeconds(living, { sinceUs: 5 * S, untilUs: 50 * S }, 3 * S), 0);
});

test("the first limit also covers the time before it was reported", (t) => {
  const late: ContainerLifetime = { createdAtUs: 0, removedAtUs: 4 * S, limits: [{ fromUs: 2 * S, memoryMb: 128 }] };
  t.is(lifetimeMbSeconds(late, open, 100 * S), 4 * 128);
});

test("a lifetime without a known limit counts 0", (t) => {
  t.is(lifetimeMbSeconds({ createdAtUs: 0, removedAtUs: 10 * S, limits: [] }, open, 100 * S), 0);
});

test("memoryMbSeconds sums the containers", (t) => {
  const small: ContainerLifetime = { createdAtUs: 5 * S, removedAtUs: 7 * S, limits: [{ fromUs: 5 * S, memoryMb: 64 }] };
  t.is(memoryMbSeconds([resized, small], open, 100 * S), 4 * 512 + 6 * 256 + 2 * 64);
  t.is(memoryMbSeconds([], open, 100 * S), 0);
});
