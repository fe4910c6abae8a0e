import { render } from "preact"
import { App } from "./app.js"
import { makeRpc } from "./rpc.js"
import "./style.css"

// One client for the page's life: it keeps the session id the daemon hands out.
render(<App rpc={makeRpc("transmission/rpc")} />, document.getElementById("app")!)
