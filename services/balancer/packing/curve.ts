// A measured curve y(x) over positive integers: S(n), the time to bring up n instances, and E(d), a
// function's service time at packing degree d, are both known only at the points that were measured
// (a profiling run, then live records). Between points the curve is linear; beyond the last point it
// follows the last segment's slope (never below its last value: more instances or a higher degree
// never take less time); before the first point it keeps the first value.

export interface CurvePoint {
  readonly x: number;
  /** Seconds. */
  readonly y: number;
}

export class MeasuredCurve {
  readonly points: readonly CurvePoint[];

  constructor(points: readonly CurvePoint[]) {
    if (points.length === 0) throw new RangeError("a curve needs at least one measured point");
    for (const p of points) {
      if (!Number.isFinite(p.x) || p.x < 1) throw new RangeError(`a curve point's x must be ≥ 1, got ${p.x}`);
      if (!Number.isFinite(p.y) || p.y < 0) throw new RangeError(`a curve point's y must be a finite time ≥ 0, got ${p.y}`);
    }
    const sorted = [...points].sort((a, b) => a.x - b.x);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].x === sorted[i - 1].x) throw new RangeError(`two measurements at x = ${sorted[i].x}: merge them first`);
    }
    this.points = sorted;
  }

  at(x: number): number {
    const p = this.points;
    if (x <= p[0].x) return p[0].y;
    for (let i = 1; i < p.length; i++) {
      if (x <= p[i].x) return lerp(p[i - 1], p[i], x);
    }
    if (p.length === 1) return p[0].y;
    const last = p[p.length - 1];
    return Math.max(last.y, lerp(p[p.length - 2], last, x));
  }

  /**
   * A live observation at x blended in (weight alpha in (0, 1]; 1 replaces): live records refine what the
   * profiling run measured. A new x starts from the curve's value there.
   */
  refined(x: number, observed: number, alpha: number): MeasuredCurve {
    if (!(alpha > 0 && alpha <= 1)) throw new RangeError(`alpha must be in (0, 1], got ${alpha}`);
    const prior = this.at(x);
    return this.with({ x, y: (1 - alpha) * prior + alpha * observed });
  }

  /** This curve with one point replaced or added (a fresher measurement at that x). */
  with(point: CurvePoint): MeasuredCurve {
    return new MeasuredCurve([...this.points.filter((p) => p.x !== point.x), point]);
  }
}

function lerp(a: CurvePoint, b: CurvePoint, x: number): number {
  return a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
}
