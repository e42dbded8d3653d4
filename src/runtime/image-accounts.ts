// An image's users and groups, read once per image rather than at every
// CreateContainer (two files resolved and read through the overlay, ~6 trips
// through libuv's pool). A new container's rootfs shows its image's files and
// nothing else (the writable layer is empty until the container runs), and
// layers never change, so the image's top chain id names its accounts.

import { readAccounts, type Accounts } from "./user.js";

export class ImageAccounts {
  private readonly byChain = new Map<string, Promise<Accounts>>();

  /** `max`: images remembered; the least recently used goes first. */
  constructor(private readonly max = 64) {}

  /** The accounts of the image whose top layer is `chainId`, read from `rootfs` (a new container's, unchanged) the first time. */
  of(chainId: string, rootfs: string): Promise<Accounts> {
    let accounts = this.byChain.get(chainId);
    if (accounts) this.byChain.delete(chainId); // re-inserted below: most recent last
    else {
      accounts = readAccounts(rootfs);
      // A failed read is not remembered.
      accounts.catch(() => {
        if (this.byChain.get(chainId) === accounts) this.byChain.delete(chainId);
      });
    }
    this.byChain.set(chainId, accounts);
    if (this.byChain.size > this.max) this.byChain.delete(this.byChain.keys().next().value!);
    return accounts;
  }

  get size(): number {
    return this.byChain.size;
  }
}
