// skiff's admin service (proto/skiff-admin.proto): operations the CRI lacks.

import { invalidArgument } from "../errors.js";
import type { CriDeps } from "./deps.js";
import type { AdminHandlers } from "./generated/skiff/admin/v1/Admin.js";
import type { PromiseHandlers } from "./service.js";

export function adminServiceHandlers(deps: CriDeps): PromiseHandlers<AdminHandlers> {
  return {
    async ImportImages(req) {
      if (!req.path) throw invalidArgument("ImportImages: path must name an archive on the daemon's machine");
      const records = await deps.images.importArchive(req.path);
      return { images: records.map((r) => ({ id: r.id, repo_tags: r.repoTags })) };
    },
  };
}
