// Namespaces: inside the mesh a function is known by its qualified name "<tenant>_<name>". Neither part
// may contain '_', so the split is unambiguous and two tenants' "hello" never meet in the balancer, on a
// node, in an image name or in trace-store.
import { ValidationError } from "../function-validation.js";

const TENANT = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const SEPARATOR = "_";

export function validateTenantName(name: string, field = "name"): string {
  if (!name) throw new ValidationError(field, "is required");
  if (!TENANT.test(name)) throw new ValidationError(field, `${JSON.stringify(name.slice(0, 80))} is not a valid tenant name (lower-case letters, digits and '-', 1-32 characters, starting and ending with a letter or digit)`);
  return name;
}

export function qualifiedName(tenant: string, name: string): string {
  return `${tenant}${SEPARATOR}${name}`;
}

/** The tenant's own name for a function the mesh knows by its qualified name. */
export function shortName(qualified: string): string {
  const i = qualified.indexOf(SEPARATOR);
  return i < 0 ? qualified : qualified.slice(i + 1);
}
