/**
 * Brings an element on screen up to date with a freshly drawn copy, changing only what differs: an unchanged part
 * stays the very node it was, so it does not flicker, a logo is not loaded again, and a text selection survives.
 * Children that carry the `key` attribute (a client's `data-client-id`) are matched by it, so a reordered list moves
 * its items rather than redrawing each; other children are matched by position. Event listeners are not compared:
 * this is for views whose behaviour lives in links and attributes.
 */
export function patchElement(current: Element, next: Element, key: string): void {
  for (const { name } of [...current.attributes]) if (!next.hasAttribute(name)) current.removeAttribute(name);
  for (const { name, value } of [...next.attributes]) if (current.getAttribute(name) !== value) current.setAttribute(name, value);
  patchChildren(current, next, key);
}

function patchChildren(parent: Element, nextParent: Element, key: string): void {
  const wanted = [...nextParent.childNodes];
  const byKey = new Map<string, Element>();
  for (const child of parent.children) {
    const id = child.getAttribute(key);
    if (id !== null) byKey.set(id, child);
  }
  wanted.forEach((next, index) => {
    const here = parent.childNodes[index] ?? null;
    const id = next instanceof Element ? next.getAttribute(key) : null;
    const candidate = id === null ? here : byKey.get(id) ?? null;
    let kept: Node = next;
    if (candidate && sameKind(candidate, next, key)) {
      kept = candidate;
      if (candidate instanceof Element) patchElement(candidate, next as Element, key);
      else if (candidate.nodeValue !== next.nodeValue) candidate.nodeValue = next.nodeValue;
    }
    if (kept !== here) parent.insertBefore(kept, here);
  });
  while (parent.childNodes.length > wanted.length) parent.lastChild!.remove();
}

/** Whether `node` can be turned into `next` in place: the same type of node, element and key. */
function sameKind(node: Node, next: Node, key: string): boolean {
  if (node.nodeType !== next.nodeType || node.nodeName !== next.nodeName) return false;
  return !(node instanceof Element) || node.getAttribute(key) === (next as Element).getAttribute(key);
}
