/** The many-rooms chat page served at `/chat/rooms` (protocol v2, one connection); its script is /client/chat-rooms.js. */
export const chatRoomsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>roomcast rooms</title>
<style>
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template: "head head head" auto "rooms log who" 1fr "rooms form who" auto / 12rem 1fr 11rem; height: 100vh; height: 100dvh; color: #1d1d1f; background: #fafafa; }
  header { grid-area: head; display: flex; align-items: baseline; gap: .75rem; padding: .6rem 1rem; background: #1f2933; color: #f5f7fa; }
  header h1 { font-size: 1.05rem; margin: 0; flex: 1; }
  #state { font-size: .8rem; padding: .05rem .5rem; border-radius: 1rem; background: #b7791f; }
  #state[data-state="open"] { background: #2f855a; }
  #state[data-state="closed"] { background: #9b2c2c; }
  nav { grid-area: rooms; border-right: 1px solid #d2d6dc; background: #fff; overflow-y: auto; padding: .5rem; }
  nav ul { list-style: none; margin: 0 0 .5rem; padding: 0; }
  nav li { display: flex; align-items: center; gap: .3rem; padding: .25rem .4rem; border-radius: .3rem; cursor: pointer; }
  nav li[aria-current="true"] { background: #e2e8f0; font-weight: 600; }
  nav li .name { flex: 1; overflow: hidden; text-overflow: ellipsis; }
  .unread { background: #2b6cb0; color: #fff; border-radius: 1rem; padding: 0 .45rem; font-size: .75rem; }
  .leave { border: 0; background: none; color: #6b7280; cursor: pointer; padding: 0 .2rem; }
  #join { display: flex; gap: .3rem; }
  #join input { min-width: 0; flex: 1; }
  #log { grid-area: log; overflow-y: auto; margin: 0; padding: .5rem 1rem; list-style: none; }
  .msg { padding: .2rem 0; overflow-wrap: anywhere; }
  .msg b { margin-right: .4rem; }
  aside { grid-area: who; border-left: 1px solid #d2d6dc; background: #fff; padding: .5rem; overflow-y: auto; }
  aside h2 { font-size: .85rem; margin: 0 0 .3rem; color: #52606d; }
  #who { list-style: none; margin: 0; padding: 0; }
  #who li::before { content: "● "; color: #2f855a; }
  #form { grid-area: form; display: flex; gap: .5rem; padding: .5rem 1rem; border-top: 1px solid #d2d6dc; background: #fff; }
  input, button { font: inherit; padding: .4rem .55rem; border: 1px solid #cbd2d9; border-radius: .4rem; }
  #text { flex: 1; min-width: 0; }
  button { background: #2b6cb0; color: #fff; border-color: #2b6cb0; }
</style>
</head>
<body>
<header><h1 id="title">roomcast</h1><span id="me"></span><span id="state" data-state="connecting">connecting…</span></header>
<nav><ul id="rooms"></ul><form id="join"><input id="room" aria-label="Room to join" placeholder="room" maxlength="64"><button>Join</button></form></nav>
<ol id="log" aria-live="polite"></ol>
<aside><h2 id="count">who's online</h2><ul id="who"></ul></aside>
<form id="form"><input id="text" aria-label="Message" placeholder="Message" maxlength="2000" autocomplete="off"><button>Send</button></form>
<script src="../client/chat-rooms.js"></script>
</body>
</html>
`
