import { imagePullDuration, imagePulls } from "../../observability/metrics.js";
import { credentialsFromCri } from "../../image-service/registry/auth.js";
import { encodeAhead } from "../fast-serialize.js";
import { toCriImage } from "../mappers/image.js";
import type { CallContext } from "../service.js";
import type { CriDeps } from "../deps.js";
import type { PullImageRequest__Output } from "../generated/runtime/v1/PullImageRequest.js";
import type { PullImageResponse } from "../generated/runtime/v1/PullImageResponse.js";
import { requireImageName } from "../validate.js";

export function makePullImage(deps: CriDeps) {
  return async function pullImage(req: PullImageRequest__Output, ctx: CallContext): Promise<PullImageResponse> {
    const name = requireImageName(req.image, "PullImage");
    const end = imagePullDuration.startTimer();
    let record;
    try {
      record = await deps.images.pull(name, credentialsFromCri(req.auth), ctx.signal);
    } catch (err) {
      end({ result: "failure" });
      imagePulls.inc({ result: "failure" });
      throw err;
    }
    end({ result: "success" });
    imagePulls.inc({ result: "success" });
    // kubelet (and critest) ask for the image's status next: its message is made now, while the pull ends anyway.
    encodeAhead("image", () => toCriImage(record));
    // image_ref is the image id, the same value ListImages and ContainerStatus.image_id report.
    return { image_ref: record.id };
  };
}
