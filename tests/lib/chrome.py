#!/usr/bin/env python3
"""One headless Chromium for many pages.

Starting Chromium costs about 3 s here, and a report test prints a page
a dozen times. This drives one browser over the DevTools protocol on a
pipe (--remote-debugging-pipe: commands on its fd 3, answers on its fd 4,
each a JSON text ended by a NUL byte), so a test pays the start once.
Pages are printed and shot as `chromium --headless --print-to-pdf` and
`--screenshot` do: the page's own @page size and margins, no header or
footer; a screenshot of a window of the size asked for.

As a command, each job is done in turn in one browser:
    chrome.py [shot URL OUT.png WIDTHxHEIGHT | pdf URL OUT.pdf] ...
As a module:
    with Chrome(workdir) as c:
        c.pdf(url, out); c.shot(url, out, 800, 1000)
"""
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


class ChromeError(Exception):
    pass


class Chrome:
    def __init__(self, workdir=None, timeout=120):
        self.timeout = timeout
        self.workdir = workdir or tempfile.mkdtemp(prefix='chrome-')
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = None
        self.next_id = 0
        self.buf = b''
        self.events = []
        self.session = None

    def __enter__(self):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        os.set_inheritable(to_chrome_r, True)
        os.set_inheritable(from_chrome_w, True)

        def fds():  # the browser's ends as its fds 3 and 4
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        log = open(os.path.join(self.workdir, 'chrome.log'), 'ab')
        self.proc = subprocess.Popen(
            ['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--disable-quic', '--hide-scrollbars',
             '--user-data-dir=' + os.path.join(self.workdir, 'profile'),
             '--remote-debugging-pipe', 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False,
            preexec_fn=fds, env=dict(os.environ, HOME=self.workdir))
        log.close()
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        return self

    def __exit__(self, *exc):
        try:
            self.call('Browser.close')
        except (ChromeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_chrome)
        os.close(self.from_chrome)
        return False

    def _read(self, deadline):
        """The next message from the browser."""
        while b'\0' not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChromeError('Chromium did not answer within %d s' % self.timeout)
            if not select.select([self.from_chrome], [], [], left)[0]:
                continue
            data = os.read(self.from_chrome, 1 << 20)
            if not data:
                raise ChromeError('Chromium closed its pipe (exit status %s; see %s/chrome.log)'
                                  % (self.proc.poll(), self.workdir))
            self.buf += data
        msg, self.buf = self.buf.split(b'\0', 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        """Sends one command and returns its result."""
        self.next_id += 1
        msg = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b'\0')
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m:
                    raise ChromeError('%s: %s' % (method, m['error']))
                return m.get('result', {})
            if 'method' in m:
                self.events.append(m)

    def wait_event(self, method, session):
        deadline = time.monotonic() + self.timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get('method') == method and m.get('sessionId') == session:
                    del self.events[i]
                    return m
            m = self._read(deadline)
            if 'method' in m:
                self.events.append(m)

    def _load(self, url, width=None, height=None):
        """The one tab, showing url, loaded: its session id. A new
        renderer for each page would cost a second a page."""
        if not self.session:
            target = self.call('Target.createTarget', {'url': 'about:blank'})['targetId']
            self.session = self.call('Target.attachToTarget',
                                     {'targetId': target, 'flatten': True})['sessionId']
            self.call('Page.enable', session=self.session)
        s = self.session
        if width:
            self.call('Emulation.setDeviceMetricsOverride',
                      {'width': width, 'height': height, 'deviceScaleFactor': 1,
                       'mobile': False}, session=s)
        else:
            self.call('Emulation.clearDeviceMetricsOverride', session=s)
        self.events = [m for m in self.events if m.get('sessionId') != s]
        # about:blank first, so that a page shown again is loaded again
        for u in ('about:blank', url):
            r = self.call('Page.navigate', {'url': u}, session=s)
            if r.get('errorText'):
                raise ChromeError('%s: %s' % (u, r['errorText']))
            self.wait_event('Page.loadEventFired', s)
        return s

    def pdf(self, url, out):
        r = self.call('Page.printToPDF', {'displayHeaderFooter': False,
                                          'preferCSSPageSize': True}, session=self._load(url))
        with open(out, 'wb') as f:
            f.write(base64.b64decode(r['data']))

    def shot(self, url, out, width, height):
        r = self.call('Page.captureScreenshot', {'format': 'png'},
                      session=self._load(url, width, height))
        with open(out, 'wb') as f:
            f.write(base64.b64decode(r['data']))


def main(argv):
    jobs, i = [], 0
    while i < len(argv):
        if argv[i] == 'pdf' and i + 2 < len(argv):
            jobs.append(('pdf', argv[i + 1], argv[i + 2]))
            i += 3
        elif argv[i] == 'shot' and i + 3 < len(argv) and 'x' in argv[i + 3]:
            w, h = argv[i + 3].split('x', 1)
            jobs.append(('shot', argv[i + 1], argv[i + 2], int(w), int(h)))
            i += 4
        else:
            sys.stderr.write('usage: chrome.py [shot URL OUT.png WxH | pdf URL OUT.pdf] ...\n')
            return 2
    if not jobs:
        return 0
    # the browser's profile and log beside the first output; kept if it fails
    work = tempfile.mkdtemp(prefix='chrome-', dir=os.path.dirname(os.path.abspath(jobs[0][2])))
    try:
        with Chrome(work) as c:
            for j in jobs:
                getattr(c, j[0])(*j[1:])
    except (ChromeError, OSError) as e:
        sys.stderr.write('chrome.py: %s (Chromium\'s log: %s/chrome.log)\n' % (e, work))
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
