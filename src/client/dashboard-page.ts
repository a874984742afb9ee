/** The admin dashboard served at `/admin`; its script is /client/dashboard.js (built from dashboard.ts). It asks for ADMIN_TOKEN itself. */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>roomcast admin</title>
<style>
  * { box-sizing: border-box; }
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f4f5f7; }
  header { display: flex; align-items: center; gap: .75rem; padding: .6rem 1rem; background: #1f2933; color: #f5f7fa; }
  header h1 { font-size: 1.05rem; margin: 0; flex: 1; }
  #backend { font-size: .8rem; padding: .05rem .55rem; border-radius: 1rem; background: #6b7280; }
  #backend[data-ready="true"] { background: #2f855a; }
  #backend[data-ready="false"] { background: #9b2c2c; }
  #updated { font-size: .8rem; opacity: .75; }
  header button { font: inherit; font-size: .8rem; color: inherit; background: none; border: 1px solid #9aa5b1; border-radius: .4rem; padding: .15rem .5rem; }
  main { padding: 1rem; display: grid; gap: 1rem; max-width: 72rem; margin: 0 auto; }
  [hidden] { display: none !important; }
  .tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .75rem; }
  .tile, figure, section.table { background: #fff; border: 1px solid #e1e4e8; border-radius: .5rem; padding: .75rem 1rem; margin: 0; }
  .tile .label, figcaption, h2 { font-size: .8rem; color: #52606d; text-transform: uppercase; letter-spacing: .04em; margin: 0 0 .25rem; }
  .tile .value { font-size: 1.8rem; font-variant-numeric: tabular-nums; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: .75rem; }
  figcaption { display: flex; justify-content: space-between; }
  figcaption .max { text-transform: none; font-variant-numeric: tabular-nums; }
  svg.chart { width: 100%; height: 7rem; display: block; }
  svg.chart .area { fill: #bee3f8; }
  svg.chart .line { fill: none; stroke: #2b6cb0; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
  svg.chart .grid { stroke: #e1e4e8; stroke-width: 1; vector-effect: non-scaling-stroke; }
  .tables { display: grid; grid-template-columns: 2fr 1fr 1fr; gap: .75rem; }
  @media (max-width: 50rem) { .tables { grid-template-columns: 1fr; } }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: right; padding: .25rem .4rem; border-bottom: 1px solid #eef0f2; }
  th:first-child, td:first-child { text-align: left; overflow-wrap: anywhere; }
  th { font-size: .75rem; color: #52606d; font-weight: 600; }
  td.empty { text-align: left; color: #9aa5b1; font-style: italic; }
  form#login { max-width: 24rem; margin: 4rem auto; background: #fff; border: 1px solid #e1e4e8; border-radius: .5rem; padding: 1.25rem; display: grid; gap: .6rem; }
  form#login input, form#login button { font: inherit; padding: .45rem .6rem; border: 1px solid #cbd2d9; border-radius: .4rem; }
  form#login button { background: #2b6cb0; color: #fff; border-color: #2b6cb0; }
  #login-error { color: #9b2c2c; margin: 0; min-height: 1.2em; font-size: .9rem; }
  #problem { color: #9b2c2c; margin: 0; }
</style>
</head>
<body>
<header><h1>roomcast admin</h1><span id="backend">backend</span><span id="updated"></span><button id="forget" type="button" hidden>Forget token</button></header>
<form id="login" hidden>
<label for="token">ADMIN_TOKEN</label>
<input id="token" type="password" autocomplete="off" spellcheck="false" required>
<button>Open dashboard</button>
<p id="login-error" role="alert"></p>
</form>
<main id="main" hidden>
<p id="problem" role="alert" hidden></p>
<section class="tiles">
<div class="tile"><div class="label">Connections</div><div class="value" id="connections">–</div></div>
<div class="tile"><div class="label">Rooms</div><div class="value" id="rooms">–</div></div>
<div class="tile"><div class="label">Messages/s</div><div class="value" id="mps">–</div></div>
<div class="tile"><div class="label">Deliveries/s</div><div class="value" id="dps">–</div></div>
</section>
<section class="charts">
<figure><figcaption><span>Connections</span><span class="max" id="max-connections"></span></figcaption><svg class="chart" id="chart-connections" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="connections over time"></svg></figure>
<figure><figcaption><span>Messages/s</span><span class="max" id="max-messages"></span></figcaption><svg class="chart" id="chart-messages" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="messages per second over time"></svg></figure>
<figure><figcaption><span>Deliveries/s</span><span class="max" id="max-deliveries"></span></figcaption><svg class="chart" id="chart-deliveries" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-label="deliveries per second over time"></svg></figure>
</section>
<section class="tables">
<section class="table"><h2>Busiest rooms</h2><table id="busiest"><thead><tr><th>room</th><th>connections</th><th>msg/s</th><th>seq</th><th>history</th></tr></thead><tbody></tbody></table></section>
<section class="table"><h2>Refusals by code</h2><table id="refusals"><thead><tr><th>code</th><th>count</th></tr></thead><tbody></tbody></table></section>
<section class="table"><h2>Closes by code</h2><table id="closes"><thead><tr><th>code</th><th>count</th></tr></thead><tbody></tbody></table></section>
</section>
</main>
<script src="client/dashboard.js"></script>
</body>
</html>
`
