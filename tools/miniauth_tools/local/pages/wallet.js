// The wallet simulator: plays my.getAuthCode and my.getOpenUserInfo against this server's Wallet API.
// Plain JavaScript, no build step, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { registry: null, scopes: {} };

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "className") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function wallet(path, body) {
  // Locally the Wallet API takes plain JSON (in the cloud it sits behind AWS_IAM).
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let answer;
  try {
    answer = await response.json();
  } catch (error) {
    answer = { result: { resultCode: `HTTP_${response.status}`, resultMessage: "not JSON" } };
  }
  const code = (answer.result && answer.result.resultCode) || `HTTP_${response.status}`;
  $("call-log").prepend(element("li", { className: `code-${code}` }, `POST ${path} → ${code}`));
  return answer;
}

const user = () => $("user").value;
const app = () => state.registry.apps.find((candidate) => candidate.appId === $("app").value);

function fillPickers() {
  for (const person of state.registry.users) {
    const label = person.nickName ? `${person.nickName} (${person.userId})` : person.userId;
    $("user").append(element("option", { value: person.userId }, label));
  }
  for (const program of state.registry.apps) {
    const owner = program.clientName ? ` · ${program.clientName}` : "";
    $("app").append(element("option", { value: program.appId }, `${program.name} (${program.appId})${owner}`));
  }
  for (const scope of state.registry.scopes) state.scopes[scope.name] = scope;
  $("user").addEventListener("change", () => { resetResult(); listAuthorizations(); });
  $("app").addEventListener("change", () => { resetResult(); showApp(); });
}

function showApp() {
  const program = app();
  const allowed = new Set(program.allowedScopes);
  const status = program.clientStatus && program.clientStatus !== "ACTIVE" ? ` — client ${program.clientStatus}` : "";
  $("app-detail").textContent =
    `Owned by client ${program.authClientId}${program.clientName ? ` (${program.clientName})` : ""}${status}. ` +
    `It may ask for: ${program.allowedScopes.join(", ") || "silent scopes only"}.`;
  const chosen = new Set([...document.querySelectorAll("#scopes input:checked")].map((box) => box.value));
  if (chosen.size === 0) chosen.add("auth_base");
  $("scopes").replaceChildren();
  for (const scope of state.registry.scopes) {
    const available = scope.silent || allowed.has(scope.name);
    const box = element("input", { type: "checkbox", value: scope.name, "data-scope": scope.name });
    box.checked = chosen.has(scope.name);
    const tag = scope.silent ? "silent" : available ? "" : "not on the client's allow-list";
    $("scopes").append(element("label", { className: `scope${available ? "" : " unavailable"}`, title: scope.description },
      box, element("span", {}, element("span", { className: "name" }, scope.name),
        tag ? element("span", { className: "tag" }, tag) : "", element("br"), scope.description)));
  }
}

function resetResult() {
  $("auth-result").hidden = true;
  $("auth-failure").hidden = true;
  $("open-user-info-result").hidden = true;
}

// The consent sheet: resolves with the scopes the user left ticked (Allow), or null (Deny).
function askConsent(appInfo, lines) {
  const name = appInfo.appName || appInfo.appId;
  $("sheet-title").textContent = name;
  $("sheet-app-id").textContent = `mini program ${appInfo.appId}`;
  // A letter, not appLogo: logos are remote URLs and this page fetches nothing from elsewhere.
  $("sheet-badge").textContent = name.trim().charAt(0).toUpperCase();
  $("sheet-scopes").replaceChildren();
  for (const line of lines) {
    const box = element("input", { type: "checkbox", value: line.scope, "data-consent": line.scope });
    box.checked = true;
    $("sheet-scopes").append(element("li", {}, box, element("span", {}, line.text)));
  }
  $("sheet-backdrop").hidden = false;
  return new Promise((resolve) => {
    const close = (value) => {
      $("sheet-backdrop").hidden = true;
      $("allow").onclick = null;
      $("deny").onclick = null;
      resolve(value);
    };
    $("allow").onclick = () => close([...document.querySelectorAll("#sheet-scopes input:checked")].map((b) => b.value));
    $("deny").onclick = () => close(null);
  });
}

async function getAuthCode() {
  resetResult();
  const scopes = [...document.querySelectorAll("#scopes input:checked")].map((box) => box.value);
  const request = { userId: user(), appId: app().appId, scopes };
  let answer = await wallet("/wallet/getAuthCode", request);
  if (answer.result.resultCode === "USER_CONSENT_REQUIRED") {
    const lines = answer.consentRequiredScopes.map((scope) => ({
      scope, text: state.scopes[scope] ? state.scopes[scope].description : scope,
    }));
    const allowed = await askConsent(answer.appInfo || { appId: app().appId }, lines);
    answer = await wallet("/wallet/getAuthCode", { ...request, consentedScopes: allowed || [] });
    if (allowed === null && answer.result.resultCode !== "SUCCESS") {
      return failed(`The user denied: my.getAuthCode fails (${answer.result.resultCode}), no authCode.`, answer);
    }
  }
  if (answer.result.resultCode !== "SUCCESS") {
    return failed(`my.getAuthCode fails: ${answer.result.resultCode}: ${answer.result.resultMessage || ""}`, answer);
  }
  $("auth-code").textContent = answer.authCode;
  $("success-scopes").textContent = JSON.stringify(answer.authSuccessScopes || []);
  $("error-scopes").textContent = JSON.stringify(answer.authErrorScopes || {});
  $("redeem-snippet").textContent =
    `# as merchant ${app().authClientId}, with miniauth_sdk.MerchantClient\n` +
    `pair = wallet.apply_token("${answer.authCode}", "${app().appId}")\n` +
    `info = wallet.inquiry_user_info(pair.access_token, "${app().appId}")`;
  $("auth-result").hidden = false;
  listAuthorizations();
}

function failed(message, answer) {
  const errors = answer && answer.authErrorScopes ? ` authErrorScopes: ${JSON.stringify(answer.authErrorScopes)}` : "";
  $("auth-failure").textContent = message + errors;
  $("auth-failure").hidden = false;
}

async function getOpenUserInfo() {
  const request = { userId: user(), appId: app().appId };
  let answer = await wallet("/wallet/getOpenUserInfo", request);
  let shown = parseResponse(answer);
  if (shown && shown.code === "40003") {
    const allowed = await askConsent({ appId: app().appId, appName: app().name },
      [{ scope: "openUserInfo", text: state.registry.openUserInfo }]);
    if (allowed && allowed.length) {
      answer = await wallet("/wallet/getOpenUserInfo", { ...request, consented: true });
      shown = parseResponse(answer);
      listAuthorizations();
    }
  }
  $("open-user-info-result").textContent = shown ? `response: ${JSON.stringify(shown, null, 2)}`
    : JSON.stringify(answer.result, null, 2);
  $("open-user-info-result").hidden = false;
}

function parseResponse(answer) {
  if (answer.result.resultCode !== "SUCCESS" || typeof answer.response !== "string") return null;
  try { return JSON.parse(answer.response); } catch (error) { return null; }
}

async function listAuthorizations() {
  const answer = await wallet("/wallet/authorizations/list", { userId: user() });
  const list = $("authorization-list");
  list.replaceChildren();
  if (answer.result.resultCode !== "SUCCESS") {
    list.append(element("li", {}, `${answer.result.resultCode}: ${answer.result.resultMessage || ""}`));
    return;
  }
  if (!answer.authorizations.length) list.append(element("li", { className: "hint" }, "none yet"));
  for (const item of answer.authorizations) {
    const revoke = element("button", { className: "small", "data-revoke": item.appId, onclick: async () => {
      await wallet("/wallet/authorizations/revoke", { userId: user(), appId: item.appId });
      listAuthorizations();
    } }, "Revoke");
    const scopes = item.scopes.join(", ") + (item.openUserInfo ? (item.scopes.length ? ", " : "") + "public profile" : "");
    list.append(element("li", { "data-app": item.appId },
      element("strong", {}, item.appName || item.appId), ` (${item.appId}) `, revoke, element("br"),
      element("span", { className: "scopes-line" }, `${scopes || "—"} · since ${item.authorizedTime}`)));
  }
}

async function start() {
  const response = await fetch("registry.json");
  state.registry = await response.json();
  fillPickers();
  showApp();
  $("call-get-auth-code").addEventListener("click", getAuthCode);
  $("call-open-user-info").addEventListener("click", getOpenUserInfo);
  $("refresh-authorizations").addEventListener("click", listAuthorizations);
  $("copy-code").addEventListener("click", () => navigator.clipboard && navigator.clipboard.writeText($("auth-code").textContent));
  await listAuthorizations();
  document.body.dataset.ready = "true";
}

start();
