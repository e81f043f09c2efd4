/**
 * A Svelte attachment that sends an SVG element along the points and back again with the Web Animations API.
 * (SMIL's <animateMotion> would start at the document's time zero, so one inserted later would already be over.)
 */
import type { Attachment } from 'svelte/attachments';
import type { Point } from './force-layout.js';

export function travelThereAndBack(points: readonly Point[], durationMs: number): Attachment<SVGElement> {
  return (element) => {
    const trip = [...points, ...points.slice(0, -1).reverse()];
    const animation = element.animate(
      trip.map((p) => ({ transform: `translate(${p.x}px, ${p.y}px)` })),
      { duration: durationMs, easing: 'ease-in-out', fill: 'forwards' }
    );
    return () => animation.cancel();
  };
}
