/** The chat page served at `/`; its script is /client/chat.js (built from chat.ts), nothing comes from other hosts. */
export const chatPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast</title>
<style>
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { font: 16px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; height: 100dvh; color: #1d1d1f; background: #fafafa; }
  header { display: flex; align-items: baseline; gap: .75rem; padding: .6rem 1rem; background: #1f2933; color: #f5f7fa; }
  header h1 { font-size: 1.05rem; margin: 0; flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  #count { font-size: .85rem; opacity: .8; }
  #count[data-stale] { opacity: .45; font-style: italic; }
  #state { font-size: .8rem; padding: .05rem .5rem; border-radius: 1rem; background: #b7791f; white-space: nowrap; }
  #state[data-state="open"] { background: #2f855a; }
  #state[data-state="closed"] { background: #9b2c2c; }
  #log { flex: 1; overflow-y: auto; margin: 0; padding: .5rem 1rem; list-style: none; }
  .msg { padding: .2rem 0; overflow-wrap: anywhere; }
  .msg b { margin-right: .4rem; }
  .msg time { font-size: .75rem; color: #6b7280; margin-right: .4rem; }
  .msg.mine b { color: #2b6cb0; }
  .msg.pending { opacity: .6; }
  .msg.failed .text { text-decoration: line-through; }
  .status { margin-left: .4rem; color: #9b2c2c; font-size: .75rem; }
  .notice { padding: .2rem 0; font-size: .85rem; color: #6b7280; font-style: italic; }
  form { display: flex; gap: .5rem; padding: .5rem 1rem; border-top: 1px solid #d2d6dc; background: #fff; }
  input, button { font: inherit; padding: .45rem .6rem; border: 1px solid #cbd2d9; border-radius: .4rem; min-width: 0; }
  #name { flex: 0 1 7rem; }
  #text { flex: 1 1 auto; }
  button { background: #2b6cb0; color: #fff; border-color: #2b6cb0; }
  button:disabled, input:disabled { opacity: .5; }
  #problem { padding: .6rem 1rem; background: #fff5f5; color: #742a2a; border-bottom: 1px solid #feb2b2; overflow-wrap: anywhere; }
  #problem p { margin: 0; }
  #problem .hint { font-size: .8rem; color: #6b7280; margin-top: .3rem; }
  #problem form { padding: .5rem 0 0; border: 0; background: none; }
  #token { flex: 1 1 auto; }
</style>
</head>
<body>
<header><h1 id="room">#lobby</h1><span id="count"></span><span id="state" data-state="connecting">connecting…</span></header>
<div id="problem" role="alert" hidden>
<p id="problem-text"></p>
<p id="problem-hint" class="hint" hidden></p>
<form id="token-form" hidden>
<input id="token" type="password" aria-label="Token" placeholder="Token" autocomplete="off">
<button>Connect</button>
</form>
<form id="retry-form" hidden><button>Connect again</button></form>
</div>
<ol id="log" aria-live="polite"></ol>
<form id="form">
<input id="name" aria-label="Your name" maxlength="32" autocomplete="nickname">
<input id="text" aria-label="Message" placeholder="Message" maxlength="2000" autocomplete="off" enterkeyhint="send">
<button>Send</button>
</form>
<script src="client/chat.js"></script>
</body>
</html>
`
