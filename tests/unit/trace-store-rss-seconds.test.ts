import test from "ava";
import { containerRssMbSeconds, rssMbSeconds, type SampledContainer } from "../../services/trace-store/rss-seconds.js";

const S = 1_000_000;
const MB = 1024 * 1024;
const open = { sinceUs: null, untilUs: null };

// Created at 0, sampled at 1 s (100 MB) and 4 s (40 MB), removed at 10 s.
const sampled: SampledContainer = {
  createdAtUs: 0,
  removedAtUs: 10 * S,
  samples: [
    { atUs: 1 * S, rssBytes: 100 * MB },
    { atUs: 4 * S, rssBytes: 40 * MB },
  ],
};

test("each sample holds until the next one, the last until removal; nothing before the first", (t) => {
  t.is(containerRssMbSeconds(sampled, open, 100 * S), 3 * 100 + 6 * 40);
});

test("windows cut the step function: inside a step, across a step, from before the first sample, outside", (t) => {
  t.is(containerRssMbSeconds(sampled, { sinceUs: 2 * S, untilUs: 3 * S }, 100 * S), 100);
  t.is(containerRssMbSeconds(sampled, { sinceUs: 3 * S, untilUs: 6 * S }, 100 * S), 100 + 2 * 40);
  t.is(containerRssMbSeconds(sampled, { sinceUs: 0, untilUs: 2 * S }, 100 * S), 100);
  t.is(containerRssMbSeconds(sampled, { sinceUs: 10 * S, untilUs: 20 * S }, 100 * S), 0);
  t.is(containerRssMbSeconds(sampled, { sinceUs: null, untilUs: 1 * S }, 100 * S), 0);
});

test("a living container is charged until now; samples outside its lifetime are clipped", (t) => {
  const living: SampledContainer = { createdAtUs: 2 * S, removedAtUs: null, samples: [{ atUs: 1 * S, rssBytes: 10 * MB }] };
  t.is(containerRssMbSeconds(living, open, 5 * S), 3 * 10);
  t.is(containerRssMbSeconds(living, { sinceUs: 4 * S, untilUs: 50 * S }, 5 * S), 10);
  t.is(containerRssMbSeconds(living, { sinceUs: 6 * S, untilUs: 50 * S }, 5 * S), 0);
  const late: SampledContainer = { createdAtUs: 0, removedAtUs: 2 * S, samples: [{ atUs: 1 * S, rssBytes: 8 * MB }, { atUs: 3 * S, rssBytes: 99 * MB }] };
  t.is(containerRssMbSeconds(late, open, 100 * S), 8, "a sample after removal adds nothing");
});

test("a container without samples counts 0; rssMbSeconds sums the containers", (t) => {
  t.is(containerRssMbSeconds({ createdAtUs: 0, removedAtUs: 10 * S, samples: [] }, open, 100 * S), 0);
  const small: SampledContainer = { createdAtUs: 0, removedAtUs: 2 * S, samples: [{ atUs: 0, rssBytes: MB / 2 }] };
  t.is(rssMbSeconds([sampled, small], open, 100 * S), 3 * 100 + 6 * 40 + 1);
});
