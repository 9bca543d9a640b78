import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../../../test-support/chromium.js';
import { renderHtml } from '../src/index.js';
import { auditApp } from './audit-fixture.js';
import { createJwtApp, jwtTarget } from './fixtures/jwt-app.js';

test('the HTML report renders in headless Chromium with a visible findings table and no network request', async () => {
  const report = await auditApp(createJwtApp({ flaws: { weakSecret: true } }), jwtTarget, {
    quick: true,
  });
  // A hostile value must stay text: put markup in a summary and check it is not interpreted.
  report.results[0]!.summary +=
    ' <img src="http://127.0.0.1:9/x.png"><script>document.title="pwned"</script>';
  const file = join(mkdtempSync(join(tmpdir(), 'tessera-audit-html-')), 'report.html');
  writeFileSync(file, renderHtml(report));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(file).href;
    await page.goto(url);
    const table = page.locator('#findings');
    assert.equal(await table.isVisible(), true);
    assert.equal(await page.locator('#findings tbody tr').count(), report.results.length);
    assert.match((await page.locator('tr#SH-JWT-01 td.v').textContent()) ?? '', /FAIL/);
    assert.notEqual(await page.title(), 'pwned');
    assert.equal(await page.locator('img').count(), 0);
    assert.deepEqual(requests, [url], 'the page made a request besides loading itself');
  } finally {
    await browser.close();
  }
});
