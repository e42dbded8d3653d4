// Rewrites the request headers of one client connection so that Node's HTTP/2
// layer takes them. grpc-go clients before ~1.30 send the socket path as
// :authority ("/run/skiff/skiff.sock"), C-core its percent-encoding; nghttp2
// answers such a stream with RST_STREAM PROTOCOL_ERROR before grpc-js sees it.
// No CRI call depends on the authority, so an unusable one becomes "localhost".
//
// The listener sends the server preface (an empty SETTINGS) itself before Node
// takes the connection, so the client's first SETTINGS ACK answers the
// listener, not Node: it is dropped here (Node would take an ACK it did not ask
// for as a protocol error). Everything but header blocks passes through as is.

import {
  CLIENT_PREFACE,
  FrameError,
  FrameReader,
  FrameType,
  Flag,
  headerBlockFrames,
  isSettingsAck,
  parseHeadersPayload,
  type Frame,
} from "./frames.js";
import { encodeLiteralBlock, HeaderBlockDecoder, type HeaderField } from "./hpack.js";

export const FALLBACK_AUTHORITY = "localhost";
/** Frames (and so header block fragments) larger than this are refused; clients keep to 16 KiB until told more. */
const MAX_FRAME_BYTES = 1 << 20;
/** A header block larger than this ends the connection (Node refuses far smaller header lists anyway). */
const MAX_HEADER_BLOCK_BYTES = 1 << 20;

// RFC 3986 authority characters without "%": nghttp2 checks percent-encoding
// strictly, and a rewritten authority costs nothing.
const ACCEPTABLE_AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@[\]]+$/;

/** Whether Node's HTTP/2 layer takes this :authority as it is (undefined: none sent). */
export function isAcceptableAuthority(value: string | undefined): boolean {
  return value !== undefined && ACCEPTABLE_AUTHORITY.test(value);
}

/** The fields with :authority replaced (or added, if absent) where Node would refuse it. */
export function withUsableAuthority(fields: HeaderField[]): HeaderField[] {
  const isRequest = fields.some((f) => f.name === ":method");
  if (!isRequest) return fields; // trailers carry no pseudo-headers
  const out: HeaderField[] = [];
  let seen = false;
  for (const f of fields) {
    if (f.name !== ":authority") {
      out.push(f);
    } else if (!seen) {
      seen = true;
      out.push(isAcceptableAuthority(f.value) ? f : { name: ":authority", value: FALLBACK_AUTHORITY });
    }
  }
  if (!seen) {
    // Pseudo-headers come before regular ones (RFC 9113 §8.3).
    const at = out.findIndex((f) => !f.name.startsWith(":"));
    out.splice(at < 0 ? out.length : at, 0, { name: ":authority", value: FALLBACK_AUTHORITY });
  }
  return out;
}

interface PendingBlock {
  streamId: number;
  endStream: boolean;
  priority?: Buffer;
  fragments: Buffer[];
  bytes: number;
}

/** What the rewriter has learnt about the connection, for the listener's choice. */
export interface ClientObservations {
  /** The client's ACK of the listener's SETTINGS has arrived (and was dropped). */
  settingsAcked: boolean;
  /** The :authority of the first request, once its header block is complete (null: none sent). */
  firstAuthority?: string | null;
  /** Where in the input the dropped ACK was: [start, end) byte offsets. */
  ackRange?: [number, number];
}

export class AuthorityRewriter {
  private readonly reader = new FrameReader(MAX_FRAME_BYTES);
  private readonly decoder = new HeaderBlockDecoder();
  private pending: PendingBlock | undefined;
  private consumed = 0;
  readonly seen: ClientObservations = { settingsAcked: false };

  /** Feeds client bytes; returns what the server should read instead. Throws FrameError/HpackError on garbage. */
  push(chunk: Buffer): Buffer[] {
    const prefaceDone = this.reader.prefaceComplete;
    const frames = this.reader.push(chunk);
    const out: Buffer[] = [];
    if (!prefaceDone && this.reader.prefaceComplete) {
      out.push(CLIENT_PREFACE);
      this.consumed += CLIENT_PREFACE.length;
    }
    for (const frame of frames) {
      const start = this.consumed;
      this.consumed += frame.raw.length;
      if (!this.seen.settingsAcked && isSettingsAck(frame)) {
        this.seen.settingsAcked = true;
        this.seen.ackRange = [start, this.consumed];
        continue;
      }
      out.push(...this.onFrame(frame));
    }
    return out;
  }

  private onFrame(frame: Frame): Buffer[] {
    if (this.pending) {
      if (frame.type !== FrameType.CONTINUATION || frame.streamId !== this.pending.streamId) {
        throw new FrameError(`stream ${this.pending.streamId}'s header block is interrupted by a frame of type ${frame.type}`);
      }
      return this.addFragment(frame.payload, (frame.flags & Flag.END_HEADERS) !== 0);
    }
    if (frame.type === FrameType.CONTINUATION) {
      throw new FrameError(`CONTINUATION on stream ${frame.streamId} without a header block`);
    }
    if (frame.type !== FrameType.HEADERS) return [frame.raw];
    const { priority, fragment } = parseHeadersPayload(frame);
    this.pending = {
      streamId: frame.streamId,
      endStream: (frame.flags & Flag.END_STREAM) !== 0,
      priority,
      fragments: [],
      bytes: 0,
    };
    return this.addFragment(fragment, (frame.flags & Flag.END_HEADERS) !== 0);
  }

  private addFragment(fragment: Buffer, last: boolean): Buffer[] {
    const block = this.pending!;
    block.fragments.push(fragment);
    block.bytes += fragment.length;
    if (block.bytes > MAX_HEADER_BLOCK_BYTES) {
      throw new FrameError(`stream ${block.streamId}'s header block is larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
    }
    if (!last) return [];
    this.pending = undefined;
    const fields = this.decoder.decode(Buffer.concat(block.fragments));
    if (this.seen.firstAuthority === undefined) {
      this.seen.firstAuthority = fields.find((f) => f.name === ":authority")?.value ?? null;
    }
    const rewritten = encodeLiteralBlock(withUsableAuthority(fields));
    return headerBlockFrames(block.streamId, rewritten, { endStream: block.endStream, priority: block.priority });
  }
}
