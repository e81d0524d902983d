// In-batch de-duplication: grouping by exact payload bytes.
import test from "ava";
import { groupIdenticalPayloads } from "../../services/balancer/dispatch/identical-payloads.js";

const enc = (s: string) => new TextEncoder().encode(s);

test("members with the same bytes share the first one's run; order of first appearance is kept", (t) => {
  const members = [
    { id: "a", p: enc("{}") },
    { id: "b", p: enc('{"x":1}') },
    { id: "c", p: enc("{}") },
    { id: "d", p: enc('{"x":1}') },
    { id: "e", p: enc("{}") },
  ];
  const { runs, copiesOf } = groupIdenticalPayloads(members, (m) => m.p);
  t.deepEqual(
    runs.map((m) => m.id),
    ["a", "b"],
  );
  t.deepEqual(
    copiesOf.get(members[0])!.map((m) => m.id),
    ["c", "e"],
  );
  t.deepEqual(
    copiesOf.get(members[1])!.map((m) => m.id),
    ["d"],
  );
});

test("bytes decide, not meaning: other spacing or key order is another payload; binary bytes compare exactly", (t) => {
  const members = [enc('{"a":1,"b":2}'), enc('{"b":2,"a":1}'), enc('{ "a":1,"b":2}'), new Uint8Array([0xff, 0x00]), new Uint8Array([0xff, 0x00]), new Uint8Array([0xfe, 0x00])];
  const { runs } = groupIdenticalPayloads(members, (m) => m);
  t.is(runs.length, 5);
});
