// Hangar console: the project's own script. Live updates arrive as server-sent events and are
// written with textContent only, never as HTML.
'use strict';
(function () {
  const STATES = new Set(['provisioning', 'starting', 'serviceready', 'ready', 'stopping', 'off', 'restarting', 'upgrading']);

  function setState(el, state) {
    if (!el) return;
    el.textContent = state;
    el.className = 'state state-' + (STATES.has(state) || state === 'destroyed' ? state : 'unknown');
  }

  function setField(root, field, value) {
    const el = root.querySelector('[data-field="' + field + '"]');
    if (el && typeof value === 'string' && el.textContent !== value) el.textContent = value;
  }

  // live opens an event stream and shows its health in #live-status; EventSource reconnects
  // by itself, and the server sends the current state again on every connect.
  function live(url, handlers) {
    const status = document.getElementById('live-status');
    const es = new EventSource(url);
    const show = (s) => { if (status) { status.dataset.state = s; status.title = 'live updates: ' + s; } };
    es.onopen = () => show('open');
    es.onerror = () => show(es.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    es.addEventListener('signedout', () => {
      es.close();
      show('closed');
      location.assign(document.body.dataset.signin || '/console/signin');
    });
    for (const [name, fn] of Object.entries(handlers)) {
      es.addEventListener(name, (e) => fn(JSON.parse(e.data)));
    }
    window.addEventListener('pagehide', () => es.close());
    return es;
  }

  function liveList(table) {
    const notice = document.getElementById('live-notice');
    let added = 0;
    live(table.dataset.live, {
      machine(m) {
        const row = table.querySelector('tr[data-id="' + CSS.escape(m.id) + '"]');
        if (!row) return;
        if (m.gone) {
          row.classList.add('gone');
          setState(row.querySelector('[data-field="state"]'), 'destroyed');
          return;
        }
        const before = row.querySelector('[data-field="state"]').textContent;
        for (const f of ['name', 'type', 'region', 'privateIp', 'publicIp', 'owner']) setField(row, f, m[f]);
        setState(row.querySelector('[data-field="state"]'), m.state);
        if (before !== m.state) {
          row.classList.remove('changed');
          void row.offsetWidth; // restart the highlight
          row.classList.add('changed');
        }
      },
      added(m) {
        if (!notice) return;
        added++;
        notice.textContent = '';
        notice.append(added === 1 ? '1 new machine. ' : added + ' new machines. ');
        const a = document.createElement('a');
        a.href = location.pathname + location.search;
        a.textContent = 'Show';
        notice.append(a);
        notice.hidden = false;
      },
    });
  }

  function liveMachine(head) {
    const timeline = document.querySelector('#timeline tbody');
    live(head.dataset.live, {
      machine(m) {
        if (m.gone) {
          setState(head.querySelector('[data-field="state"]'), 'destroyed');
          const g = document.getElementById('gone-notice');
          if (g) g.hidden = false;
          return;
        }
        setField(head, 'name', m.name);
        setState(head.querySelector('[data-field="state"]'), m.state);
        setField(document, 'privateIp', m.privateIp);
        setField(document, 'publicIp', m.publicIp);
        if (timeline && m.events) {
          const rows = m.events.map((e) => {
            const tr = document.createElement('tr');
            for (const v of [e.name, e.state, e.created, e.finished || '—', e.error || '']) {
              const td = document.createElement('td');
              td.textContent = v;
              tr.append(td);
            }
            return tr;
          });
          timeline.replaceChildren(...rows);
        }
      },
    });
  }

  function serialConsole(pre) {
    const max = 256 * 1024;
    const es = new EventSource(pre.dataset.serial);
    es.addEventListener('serial', (e) => {
      const msg = JSON.parse(e.data);
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      if (msg.reset) pre.textContent = '';
      pre.append(document.createTextNode(msg.text));
      if (pre.textContent.length > max) pre.textContent = pre.textContent.slice(-max);
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener('signedout', () => es.close());
    window.addEventListener('pagehide', () => es.close());
  }

  // The create form: availability of the chosen type in the chosen region, networks of that
  // region only, and the fields of the chosen kind of user.
  function createForm(form) {
    const region = form.querySelector('#region');
    const type = form.querySelector('#machineType');
    const network = form.querySelector('#networkId');
    const hint = form.querySelector('#type-availability');
    const update = () => {
      const opt = region.selectedOptions[0];
      const code = opt ? opt.dataset.code : '';
      if (hint) {
        const t = type.selectedOptions[0];
        const avail = t && (t.dataset.avail || '').split(' ').includes(code);
        hint.textContent = avail ? 'Available in this region now.' : 'No host in this region has room for this type now.';
      }
      for (const o of network.options) {
        if (o.dataset.region) o.hidden = o.dataset.region !== region.value;
      }
      if (network.selectedOptions[0] && network.selectedOptions[0].hidden) network.value = '';
    };
    const users = () => {
      const mode = (form.querySelector('input[name="user"]:checked') || {}).value;
      for (const el of form.querySelectorAll('[data-user-mode]')) el.hidden = el.dataset.userMode !== mode;
    };
    region.addEventListener('change', update);
    type.addEventListener('change', update);
    for (const r of form.querySelectorAll('input[name="user"]')) r.addEventListener('change', users);
    update();
    users();
  }

  document.addEventListener('DOMContentLoaded', () => {
    const table = document.getElementById('machines');
    if (table && table.dataset.live) liveList(table);
    const head = document.getElementById('machine');
    if (head && head.dataset.live) liveMachine(head);
    const pre = document.getElementById('serial');
    if (pre) serialConsole(pre);
    const form = document.getElementById('create-form');
    if (form) createForm(form);
  });
})();
