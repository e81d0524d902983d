// `faas`: a small command line for the gateway (a standard gRPC client underneath).
//   node dist/client/cli.js deploy <dir> [--name N]     deploy a function directory (see function-dir.ts)
//   node dist/client/cli.js deploy --archive <f.tar.gz> [--name N]   deploy a .tar/.tar.gz of one (the gateway unpacks it)
//   node dist/client/cli.js invoke <name> [json]        invoke and print the result and its timings
//   node dist/client/cli.js invoke-async <name> [json]  print the invocation id
//   node dist/client/cli.js result <id> [--wait ms]     the result of an async invocation
//   node dist/client/cli.js list | get <name> | delete <name>
//   node dist/client/cli.js tenant-create <name>         (operator) create a tenant and print an API key of it
//   node dist/client/cli.js key-create <tenant>          (operator) another API key of a tenant
//   node dist/client/cli.js tenants                      (operator) list tenants and their quotas
// FAAS_GATEWAY (default 127.0.0.1:7100) says where the gateway is; FAAS_API_KEY is the key sent
// (a tenant's, or the operator's for the operator commands).
import { toJsonString } from "@bufbuild/protobuf";
import { readFunctionArchive, readFunctionDir } from "./function-dir.js";
import { createGrpcJsClient, GrpcCallError } from "./grpc-js.js";
import { FunctionSpecSchema } from "../gen/faas/common/v1/common_pb.js";
import { AdminService } from "../gen/faas/gateway/v1/admin_pb.js";
import { GatewayService, GetResultResponseSchema, InvokeResponseSchema } from "../gen/faas/gateway/v1/gateway_pb.js";

const USAGE =
  "usage: faas deploy <dir> [--name N] | deploy --archive <file.tar.gz> [--name N] | invoke <name> [json] | invoke-async <name> [json] | result <id> [--wait ms] | list | get <name> | delete <name> | tenant-create <name> | key-create <tenant> | tenants";

function option(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  const address = process.env.FAAS_GATEWAY ?? "127.0.0.1:7100";
  const clientOptions = { metadata: { authorization: `Bearer ${process.env.FAAS_API_KEY ?? ""}` } };
  const gateway = createGrpcJsClient(GatewayService, address, clientOptions);
  const admin = createGrpcJsClient(AdminService, address, clientOptions);
  const payload = (text: string | undefined) => new TextEncoder().encode(text ?? "{}");
  const print = (json: string) => console.log(JSON.stringify(JSON.parse(json), null, 2));
  try {
    switch (command) {
      case "deploy": {
        const name = option(args, "--name");
        const archive = option(args, "--archive");
        if (!archive && !args[0]) throw new Error(USAGE);
        const request = archive ? readFunctionArchive(archive, name ? { name } : {}) : readFunctionDir(args[0], name ? { name } : {});
        const res = (await gateway.deployFunction(request, { timeoutMs: 600_000 })).message;
        print(toJsonString(FunctionSpecSchema, res.spec!));
        break;
      }
      case "invoke": {
        if (!args[0]) throw new Error(USAGE);
        print(toJsonString(InvokeResponseSchema, (await gateway.invoke({ function: args[0], payload: payload(args[1]) })).message));
        break;
      }
      case "invoke-async": {
        if (!args[0]) throw new Error(USAGE);
        console.log((await gateway.invokeAsync({ function: args[0], payload: payload(args[1]) })).message.invocationId);
        break;
      }
      case "result": {
        const wait = Number(option(args, "--wait") ?? 0);
        if (!args[0]) throw new Error(USAGE);
        print(toJsonString(GetResultResponseSchema, (await gateway.getResult({ invocationId: args[0], waitMs: wait }, { timeoutMs: wait + 10_000 })).message));
        break;
      }
      case "list":
        for (const f of (await gateway.listFunctions({})).message.functions) console.log(`${f.name}\t${f.digest.slice(0, 19)}\t${f.limits?.memoryMb} MB\t${f.limits?.timeoutMs} ms`);
        break;
      case "get":
        if (!args[0]) throw new Error(USAGE);
        print(toJsonString(FunctionSpecSchema, (await gateway.getFunction({ name: args[0] })).message.spec!));
        break;
      case "delete":
        if (!args[0]) throw new Error(USAGE);
        await gateway.deleteFunction({ name: args[0] });
        break;
      case "tenant-create": {
        if (!args[0]) throw new Error(USAGE);
        await admin.createTenant({ name: args[0] });
        console.log((await admin.createApiKey({ tenant: args[0], description: "faas tenant-create" })).message.apiKey);
        break;
      }
      case "key-create":
        if (!args[0]) throw new Error(USAGE);
        console.log((await admin.createApiKey({ tenant: args[0], description: "faas key-create" })).message.apiKey);
        break;
      case "tenants":
        for (const t of (await admin.listTenants({})).message.tenants) console.log(`${t.name}\t${t.quota?.maxConcurrent} concurrent\t${t.quota?.ratePerSecond}/s (burst ${t.quota?.burst})`);
        break;
      default:
        throw new Error(USAGE);
    }
  } finally {
    gateway.close();
    admin.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err instanceof GrpcCallError ? `error: ${err.message}` : (err as Error).message);
  process.exit(1);
});
