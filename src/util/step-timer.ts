// Named durations of the steps of one operation, for debug logs
// (e.g. { namespaces: 11.2, cni: 49.8 } for a pod start).

export function stepTimer(): { step(name: string): void; steps: Record<string, number> } {
  const steps: Record<string, number> = {};
  let mark = performance.now();
  return {
    steps,
    step(name: string) {
      const now = performance.now();
      steps[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
    },
  };
}
