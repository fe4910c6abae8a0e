import { render } from "preact"
import { App } from "./app.js"
import { makeRpc } from "./rpc.js"
import "./style.css"

// The RPC beside the page: bt serves the page at /, transmission-daemon (TRANSMISSION_WEB_HOME) at /transmission/web/.
const url = location.pathname.startsWith("/transmission/web") ? "/transmission/rpc" : "transmission/rpc"
// One client for the page's life: it keeps the session id the daemon hands out.
render(<App rpc={makeRpc(url)} />, document.getElementById("app")!)
