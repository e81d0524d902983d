// Image names of zygotes and of function images built FROM them: one image per set, per function version
// and base, per runtime image.
import test from "ava";
import { FunctionImages, setShort } from "../../services/node-manager/function-images.js";
import { zygoteTag } from "../../services/zygote-builder/zygote-images.js";

const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

test("a zygote image is tagged by set and runtime image", (t) => {
  t.is(zygoteTag("zs-00112233445566ff", "1d6f7e2fdaa0"), "faas-zygote/zs-00112233445566ff:1d6f7e2fdaa0");
});

test("a function image's tag names its version, its set (or none) and the runtime image", async (t) => {
  const docker = { getImage: () => ({ inspect: async () => ({ Id: "sha256:1d6f7e2fdaa0aaaaaaaaaaaa" }) }) };
  const images = new FunctionImages({ docker: docker as never, runtimeImage: "rt", buildDir: "/tmp/x", npmInstallTimeoutMs: 1000 });
  t.throws(() => images.tag({ name: "f", digest }), { message: /checkRuntimeImage/ });
  await images.checkRuntimeImage();
  t.is(images.tag({ name: "f", digest }), "faas-fn/f:0123456789abcdef-none-1d6f7e2fdaa0");
  t.is(images.tag({ name: "f", digest }, "zs-00112233445566ff"), "faas-fn/f:0123456789abcdef-001122334455-1d6f7e2fdaa0");
  t.not(images.tag({ name: "f", digest }, "zs-aaaaaaaaaaaaaaaa"), images.tag({ name: "f", digest }, "zs-00112233445566ff"), "another set base is another image");
  t.is(setShort(undefined), "none");
});
