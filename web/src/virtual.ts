/** The windowing hook: follows a scrolling element's position and size and says which rows to render. */
import type { RefObject } from "preact"
import { useEffect, useState } from "preact/hooks"
import { type Range, visibleRange } from "./window.js"

export const useWindow = (scroller: RefObject<HTMLElement>, count: number, rowHeight: number): Range => {
  const [view, setView] = useState({ top: 0, height: 1000 })
  useEffect(() => {
    const element = scroller.current
    if (element === null) return
    let frame = 0
    const read = () => {
      frame = 0
      setView((held) =>
        held.top === element.scrollTop && held.height === element.clientHeight
          ? held
          : { top: element.scrollTop, height: element.clientHeight }
      )
    }
    // One update a frame however many scroll events come.
    const later = () => {
      if (frame === 0) frame = requestAnimationFrame(read)
    }
    read()
    element.addEventListener("scroll", later, { passive: true })
    const resized = new ResizeObserver(later)
    resized.observe(element)
    return () => {
      element.removeEventListener("scroll", later)
      resized.disconnect()
      cancelAnimationFrame(frame)
    }
  }, [scroller.current])
  return visibleRange(view.top, view.height, rowHeight, count)
}
