import { type Html, html } from './html.js';

export type NavKey = 'overview' | 'users' | 'events' | 'policies' | 'keys' | 'account';

const NAV: ReadonlyArray<{ key: NavKey; href: string; label: string }> = [
  { key: 'overview', href: '/console/overview', label: 'Overview' },
  { key: 'users', href: '/console/users', label: 'Users' },
  { key: 'events', href: '/console/events', label: 'Live events' },
  { key: 'policies', href: '/console/policies', label: 'Policies' },
  { key: 'keys', href: '/console/keys', label: 'Service keys' },
  { key: 'account', href: '/console/account', label: 'Your account' },
];

export interface LayoutOptions {
  title: string;
  body: Html;
  /** Absent on the sign-in page. */
  signedIn?: { operatorName: string; csrfToken: string; current: NavKey | null };
  /** A short message shown at the top of the page (`role="status"`). */
  notice?: string;
  /** An error shown at the top of the page (`role="alert"`). */
  error?: string;
}

/**
 * Every console page: a skip link, the navigation, the operator and the sign-out button, then
 * the page. Only same-origin assets: one stylesheet and one deferred script, no inline code.
 */
export function layout(options: LayoutOptions): string {
  const { title, body, signedIn, notice, error } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · Tessera console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">Tessera console</p>
${
  signedIn
    ? html`<nav aria-label="Console"><ul>${NAV.map(
        (item) =>
          html`<li><a href="${item.href}"${item.key === signedIn.current ? html` aria-current="page"` : ''}>${item.label}</a></li>`,
      )}</ul></nav>
<form class="sign-out" method="post" action="/console/sign-out">
<input type="hidden" name="csrf_token" value="${signedIn.csrfToken}">
<span class="who">Signed in as <strong>${signedIn.operatorName}</strong></span>
<button type="submit">Sign out</button>
</form>`
    : ''
}
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${body}
</main>
</body>
</html>`.text;
}
