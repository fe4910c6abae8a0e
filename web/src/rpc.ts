/**
 * Transmission's RPC from the browser, in the classic dialect (`{method, arguments, tag}`, kebab-case methods and
 * camelCase torrent fields), which bt and transmission-daemon both answer. The CSRF dance: a 409 carries the
 * session id to use in `X-Transmission-Session-Id`; the call is sent again once with it. Auth is the browser's
 * own (HTTP Basic, asked for when the page loads), so it rides along with every same-origin request.
 */

/** Why a call failed: the daemon said no (`rpc`), answered HTTP with an error (`http`), or could not be reached. */
export class RpcFailure extends Error {
  constructor(readonly kind: "rpc" | "http" | "network", message: string) {
    super(message)
  }
}

const SESSION_HEADER = "X-Transmission-Session-Id"

export interface RpcClient {
  call<A = Record<string, unknown>>(method: string, args?: Record<string, unknown>): Promise<A>
}

/** A client of the RPC at `url` (relative to the page: the daemon that served it). */
export const makeRpc = (url: string, fetcher: typeof fetch = (input, init) => fetch(input, init)): RpcClient => {
  let sessionId = ""
  let tag = 0
  const send = async (body: string): Promise<Response> => {
    try {
      return await fetcher(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", [SESSION_HEADER]: sessionId },
        body,
        credentials: "same-origin"
      })
    } catch (cause) {
      throw new RpcFailure("network", `cannot reach the daemon (${(cause as Error).message})`)
    }
  }
  return {
    async call(method, args = {}) {
      const body = JSON.stringify({ method, arguments: args, tag: ++tag })
      let response = await send(body)
      if (response.status === 409) {
        // The daemon restarted or this is our first call: learn the session id and send again, once.
        sessionId = response.headers.get(SESSION_HEADER) ?? ""
        response = await send(body)
      }
      if (response.status === 401) throw new RpcFailure("http", "the daemon wants a user name and password: reload the page")
      if (!response.ok) {
        const text = (await response.text().catch(() => "")).trim()
        throw new RpcFailure("http", `the daemon answered ${response.status}${text === "" ? "" : `: ${text}`}`)
      }
      const reply = (await response.json()) as { result?: string; arguments?: unknown }
      if (reply.result !== "success") throw new RpcFailure("rpc", `${method}: ${reply.result ?? "no result"}`)
      return (reply.arguments ?? {}) as never
    }
  }
}

/** A file's bytes as base64, for `torrent-add`'s `metainfo`. */
export const fileToBase64 = async (file: Blob): Promise<string> => {
  const bytes = new Uint8Array(await file.arrayBuffer())
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(binary)
}
