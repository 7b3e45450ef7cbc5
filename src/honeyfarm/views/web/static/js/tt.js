// SPDX-License-Identifier: MIT
// Trusted Types: should the server add `require-trusted-types-for 'script'` to
// its Content-Security-Policy, the only string-to-HTML assignment this page
// needs is ECharts clearing its container (an empty string) on init/dispose.
// This default policy lets exactly that through and refuses everything else.
// Without Trusted Types enforcement it is never consulted.

if (window.trustedTypes && typeof window.trustedTypes.createPolicy === 'function' && !window.trustedTypes.defaultPolicy) {
  try {
    window.trustedTypes.createPolicy('default', {
      createHTML(s) {
        if (s === '') return '';
        throw new TypeError('honeyfarm: building HTML from a string is not allowed');
      },
    });
  } catch (err) {
    // a `trusted-types` directive that does not allow "default": ECharts may then fail to start
    console.warn('Trusted Types default policy not created:', err && err.message);
  }
}
