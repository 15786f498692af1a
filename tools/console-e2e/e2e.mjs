// End-to-end test of Hangar's web console in a real browser: Debian's chromium, headless,
// driven by playwright-core. cmd/hangar's TestConsoleBrowser starts a real `hangar serve`,
// creates the accounts, and runs this script with:
//   HANGAR_URL     the server
//   OPERATOR_KEY   the operator's API key
//   ADMIN_EMAIL, ADMIN_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD   a team's admin and member
//   OTHER_MACHINE  a machine of another team
//   SHOTS          the directory for screenshots
//   CHROMIUM       the browser (default /usr/bin/chromium)
// It prints one line per step and exits non-zero on the first failure.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const base = env('HANGAR_URL');
const shots = env('SHOTS');
const console_ = base + '/console';
fs.mkdirSync(shots, { recursive: true });

// launch() gives the browser a fresh temporary profile (--user-data-dir) of its own and removes
// it on close; each context below is a separate, empty cookie jar.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

const errors = [];
async function newPage(ctx) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('dialog', (d) => { errors.push('unexpected dialog: ' + d.message()); d.dismiss(); });
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[34]/.test(m.text())) errors.push('console error: ' + m.text()); });
  return page;
}
function step(name) { console.log('step:', name); }
async function shot(page, name) { await page.screenshot({ path: path.join(shots, name + '.png'), fullPage: true }); }
const state = (page, within = page) => within.locator('[data-field="state"]').first();

async function signIn(page, email, password) {
  await page.goto(console_ + '/signin');
  await page.fill('#signin-password input[name=email]', email);
  await page.fill('#signin-password input[name=password]', password);
  await Promise.all([page.waitForURL(/\/console\/machines/), page.click('#signin-password button')]);
}

// mark sets a value on the window: it survives live updates and is gone after any reload.
const mark = (page) => page.evaluate(() => { window.__hangarMark = 'no reload'; });
const marked = async (page) => assert.equal(await page.evaluate(() => window.__hangarMark), 'no reload', 'the page was reloaded');

async function createMachine(page, name, opts = {}) {
  await page.goto(console_ + '/machines/new');
  await page.fill('input[name=machineName]', name);
  await page.selectOption('#machineType', opts.type || 'C2');
  if (opts.publicIp) await page.check(`input[name=publicIp][value=${opts.publicIp}]`);
  if (opts.forUser) {
    await page.check('input[name=user][value=existing]');
    await page.selectOption('select[name=userId]', { label: opts.forUser });
  }
  await Promise.all([page.waitForURL(/\/console\/machines\/ps[a-z0-9]+$/), page.click('#create')]);
  return page.url().split('/').pop();
}

async function waitState(page, want, timeout = 60000) {
  await page.waitForFunction((w) => document.querySelector('[data-field="state"]')?.textContent === w, want, { timeout });
}

async function clickAction(page, id) {
  await Promise.all([page.waitForLoadState('load'), page.click('#' + id)]);
  await page.waitForFunction(() => document.getElementById('live-status')?.dataset.state === 'open');
}

try {
  const admin = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await newPage(admin);

  step('sign-in page, then sign in with email and password');
  await page.goto(base + '/');
  assert.match(page.url(), /\/console\/signin/, 'a browser on / is sent to the console');
  await shot(page, 'signin');
  await signIn(page, env('ADMIN_EMAIL'), env('ADMIN_PASSWORD'));
  const cookies = await admin.cookies();
  const session = cookies.find((c) => c.name === 'hangar-session');
  assert.ok(session, 'a session cookie is set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(await page.textContent('#whoami'), env('ADMIN_EMAIL'));

  step('create a machine and watch it reach ready without a reload');
  await page.goto(console_ + '/machines/new');
  await shot(page, 'new-machine');
  const web1 = await createMachine(page, 'web-1', { publicIp: 'static' });
  await page.waitForFunction(() => document.getElementById('live-status')?.dataset.state === 'open');
  await mark(page);
  assert.notEqual(await state(page).textContent(), 'ready', 'a new machine is not ready at once');
  await waitState(page, 'ready');
  await marked(page);
  await page.waitForFunction(() => document.querySelectorAll('#timeline tbody tr').length >= 2);
  await shot(page, 'machine');

  step('the list updates live while the machine stops and starts');
  const list = await newPage(admin);
  await list.goto(console_ + '/machines');
  await list.waitForFunction(() => document.getElementById('live-status')?.dataset.state === 'open');
  await mark(list);
  const row = list.locator(`tr[data-id="${web1}"]`);
  assert.equal(await state(list, row).textContent(), 'ready');
  await clickAction(page, 'stop');
  await list.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] [data-field="state"]`).textContent === 'off', web1, { timeout: 60000 });
  await waitState(page, 'off');
  await marked(list);
  await clickAction(page, 'start');
  await list.waitForFunction((id) => document.querySelector(`tr[data-id="${id}"] [data-field="state"]`).textContent === 'ready', web1, { timeout: 60000 });
  await marked(list);
  await shot(list, 'machines');

  step('a machine named like markup renders as text');
  const xssName = '<img src=x onerror=alert(1)>';
  const xss = await createMachine(page, xssName);
  assert.equal(await page.locator('h1[data-field="name"]').textContent(), xssName);
  assert.equal(await page.locator('main img').count(), 0, 'no element was made from the name');
  await list.waitForFunction(() => document.getElementById('live-notice') && !document.getElementById('live-notice').hidden);
  await list.reload();
  assert.equal(await list.locator(`tr[data-id="${xss}"] [data-field="name"]`).textContent(), xssName);
  assert.equal(await list.locator('#machines img').count(), 0);

  step('a machine for the member, and the member\'s restricted view');
  const forMember = await createMachine(page, 'member-box', { forUser: env('MEMBER_EMAIL') });
  const memberCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const member = await newPage(memberCtx);
  await signIn(member, env('MEMBER_EMAIL'), env('MEMBER_PASSWORD'));
  const ids = await member.locator('#machines tr[data-id]').evaluateAll((rs) => rs.map((r) => r.dataset.id));
  assert.deepEqual(ids, [forMember], 'a member lists only the machines they own or were given');
  assert.equal(await member.locator('#new-machine').count(), 0, 'a member has no create button');
  let res = await member.goto(console_ + '/machines/new');
  assert.equal(res.status(), 403, 'a member cannot open the create form');
  res = await member.goto(console_ + '/machines/' + web1);
  assert.equal(res.status(), 404, "a teammate's machine the member was not given is not found");
  res = await member.goto(console_ + '/machines/' + forMember);
  assert.equal(res.status(), 200);
  assert.equal(await member.locator('#destroy').count(), 0, 'a member cannot destroy');
  assert.equal(await member.locator('#access').count(), 0, 'a member does not manage access');
  await shot(member, 'member-machine');
  await page.goto(console_ + '/machines/' + web1);
  await Promise.all([page.waitForLoadState('load'),
    page.locator('#access tr', { hasText: env('MEMBER_EMAIL') }).locator('button').click()]);
  assert.match(await page.textContent('.flash.ok'), /Access changed/);
  res = await member.goto(console_ + '/machines/' + web1);
  assert.equal(res.status(), 200, 'after a grant the member sees the machine');
  await member.goto(console_ + '/machines');
  await shot(member, 'member-machines');

  step("another team's machine id in the URL is not found");
  res = await page.goto(console_ + '/machines/' + env('OTHER_MACHINE'));
  assert.equal(res.status(), 404);
  assert.match(await page.textContent('#error-message'), /not found/);
  res = await page.request.get(console_ + '/machines/' + env('OTHER_MACHINE') + '/live');
  assert.equal(res.status(), 404);

  step('a form post without the token is refused');
  res = await page.request.post(console_ + '/machines/' + web1 + '/stop', { form: { confirm: 'yes' }, maxRedirects: 0 });
  assert.equal(res.status(), 403);
  res = await page.request.post(console_ + '/machines/' + web1 + '/destroy', { form: { csrf: 'forged', confirm: 'yes' }, maxRedirects: 0 });
  assert.equal(res.status(), 403);
  await page.goto(console_ + '/machines/' + web1);
  assert.equal(await state(page).textContent(), 'ready', 'the refused posts changed nothing');

  step('destroy asks to confirm, then destroys');
  await page.goto(console_ + '/machines/' + web1);
  await page.click('#destroy'); // the confirmation box is required: the browser does not submit
  assert.match(page.url(), new RegExp(web1 + '$'));
  await page.check('#destroy-confirm');
  await Promise.all([page.waitForURL(/\/console\/machines$/), page.click('#destroy')]);
  assert.match(await page.textContent('.flash.ok'), /destroyed/);
  assert.equal(await page.locator(`tr[data-id="${web1}"]`).count(), 0);
  res = await page.goto(console_ + '/machines/' + web1);
  assert.equal(res.status(), 404);

  step('team pages');
  await page.goto(console_ + '/scripts');
  await page.fill('#new-script input[name=scriptName]', 'hello');
  await page.fill('#new-script textarea', '#!/bin/sh\necho "<b>hello</b>"\n');
  await Promise.all([page.waitForURL(/\/console\/scripts\/sc/), page.click('#new-script button')]);
  assert.equal(await page.textContent('#script-text'), '#!/bin/sh\necho "<b>hello</b>"\n');
  await page.goto(console_ + '/networks');
  await page.fill('#new-network input[name=name]', 'backend');
  await Promise.all([page.waitForLoadState('load'), page.click('#new-network button')]);
  assert.match(await page.textContent('#networks'), /backend/);
  await shot(page, 'networks');
  await page.goto(console_ + '/users');
  await shot(page, 'users');

  step('sign-out ends the session on the server');
  const before = (await admin.cookies()).find((c) => c.name === 'hangar-session');
  await Promise.all([page.waitForURL(/\/console\/signin/), page.click('#signout')]);
  assert.match(await page.textContent('.flash.ok'), /signed out/);
  const replay = await browser.newContext();
  await replay.addCookies([before]);
  res = await replay.request.get(console_ + '/machines', { maxRedirects: 0 });
  assert.equal(res.status(), 303, 'the old session cookie no longer signs in');
  assert.match(res.headers()['location'], /\/console\/signin/);
  await replay.close();

  step('the operator signs in with the API key: hosts, teams, usage, audit');
  const opCtx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const op = await newPage(opCtx);
  await op.goto(console_ + '/signin');
  await op.fill('#signin-key input[name=apiKey]', env('OPERATOR_KEY'));
  await Promise.all([op.waitForURL(/\/console\/machines/), op.click('#signin-key button')]);
  await op.goto(console_ + '/hosts');
  assert.ok(await op.locator('#hosts meter').count() > 0, 'capacity bars');
  await shot(op, 'hosts');
  await op.goto(console_ + '/teams');
  await shot(op, 'teams');

  step('the operator sets a team quota; its member sees it on the quota page');
  await member.goto(console_ + '/quotas');
  const teamName = (await member.textContent('h1')).replace(/^Quotas of /, '').trim();
  assert.equal(await member.textContent('#quotas tr[data-quota="networks"] [data-field="source"]'), 'default');
  await Promise.all([op.waitForURL(/\/console\/teams\/.+/), op.click(`#teams a:text-is("${teamName}")`)]);
  await op.fill('#team-quotas input[name="quota.networks"]', '3');
  await Promise.all([op.waitForURL(/\/console\/teams\/.+/), op.click('#team-quotas button')]);
  assert.match(await op.textContent('.flash.ok'), /Quotas of .* saved/);
  assert.equal(await op.textContent('#quotas tr[data-quota="networks"] [data-field="limit"]'), '3');
  await shot(op, 'team-quotas');
  await member.reload();
  assert.equal(await member.textContent('#quotas tr[data-quota="networks"] [data-field="limit"]'), '3');
  assert.equal(await member.textContent('#quotas tr[data-quota="networks"] [data-field="source"]'), 'team override');
  await shot(member, 'quotas');
  await op.goto(console_ + '/usage');
  assert.ok(await op.locator('#usage-chart rect').count() > 0, 'the usage chart has bars');
  await shot(op, 'usage');
  await op.goto(console_ + '/audit?action=machines.create');
  assert.ok(await op.locator('#audit tbody tr').count() >= 3, 'the console\'s creates are in the audit log');
  await shot(op, 'audit');
  res = await member.goto(console_ + '/hosts');
  assert.equal(res.status(), 403, 'a member is refused the operator pages');

  assert.deepEqual(errors, [], 'no page error, dialog or console error');
  console.log('console e2e: all steps passed');
} catch (e) {
  console.error('console e2e FAILED:', e && e.stack ? e.stack : e);
  if (errors.length) console.error(errors.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
