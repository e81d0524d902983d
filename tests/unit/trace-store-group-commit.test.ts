import test from "ava";
import { GroupClosedError, GroupCommit } from "../../services/trace-store/group-commit.js";

function recorder(maxWeight: number, maxDelayMs = 60_000) {
  const commits: string[][] = [];
  const group = new GroupCommit<string, string>({
    maxDelayMs,
    maxWeight,
    weigh: (item) => item.length,
    commit: (items) => {
      commits.push(items);
      return items.map((i) => i.toUpperCase());
    },
  });
  return { commits, group };
}

test("items that arrive together are committed together, each answered with its own result", async (t) => {
  const { commits, group } = recorder(100, 1);
  const results = await Promise.all([group.submit("a"), group.submit("b"), group.submit("c")]);
  t.deepEqual(results, ["A", "B", "C"]);
  t.deepEqual(commits, [["a", "b", "c"]]);
});

test("reaching the weight commits at once, without waiting for the delay", async (t) => {
  const { commits, group } = recorder(4);
  const first = group.submit("aa");
  t.is(commits.length, 0);
  const second = group.submit("bb");
  t.deepEqual(commits, [["aa", "bb"]]);
  t.deepEqual(await Promise.all([first, second]), ["AA", "BB"]);
});

test("an item that would overflow the group waits for the next one; a heavy item goes alone", async (t) => {
  const { commits, group } = recorder(4);
  const a = group.submit("aaa");
  const b = group.submit("bbbbbb");
  t.deepEqual(commits, [["aaa"], ["bbbbbb"]]);
  t.deepEqual(await Promise.all([a, b]), ["AAA", "BBBBBB"]);
});

test("a failed commit rejects every item of its group", async (t) => {
  const group = new GroupCommit<string, number>({
    maxDelayMs: 60_000,
    maxWeight: 10,
    commit: () => {
      throw new Error("disk on fire");
    },
  });
  const a = group.submit("a");
  const b = group.submit("b");
  group.flush();
  await t.throwsAsync(a, { message: "disk on fire" });
  await t.throwsAsync(b, { message: "disk on fire" });
});

test("close commits what waits and refuses later items", async (t) => {
  const { commits, group } = recorder(100);
  const waiting = group.submit("x");
  group.close();
  t.is(await waiting, "X");
  t.deepEqual(commits, [["x"]]);
  await t.throwsAsync(group.submit("y"), { instanceOf: GroupClosedError });
  t.is(group.pending, 0);
});
