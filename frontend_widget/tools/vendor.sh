#!/bin/sh
# Re-fetch the third-party files this widget and its demo host ship, from the npm registry, at pinned
# versions (no CDN at run time). Run from the project root: frontend_widget/tools/vendor.sh
set -eu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent frappe-charts@1.6.2 jquery@3.7.1 underscore@1.13.8 twig@1.17.1 >/dev/null)
for tgz in "$work"/*.tgz; do mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"; done
# The widget's chart library (MIT), loaded by script.js from the widget's own files.
cp "$work"/frappe-charts-1.6.2/package/dist/frappe-charts.min.umd.js frontend_widget/vendor/
cp "$work"/frappe-charts-1.6.2/package/LICENSE frontend_widget/vendor/frappe-charts.LICENSE.txt
# What amoCRM's page provides to widgets (jQuery, Underscore, Twig.js), for the demo host page only.
demo=widget_api/static/demo/vendor
cp "$work"/jquery-3.7.1/package/dist/jquery.min.js "$demo"/
cp "$work"/jquery-3.7.1/package/LICENSE.txt "$demo"/jquery.LICENSE.txt
cp "$work"/underscore-1.13.8/package/underscore-umd-min.js "$demo"/underscore.min.js
cp "$work"/underscore-1.13.8/package/LICENSE "$demo"/underscore.LICENSE.txt
cp "$work"/twig-1.17.1/package/twig.min.js "$demo"/
cp "$work"/twig-1.17.1/package/LICENSE "$demo"/twig.LICENSE.txt
# Their source maps are not shipped: drop the comments that point at them.
sed -i '/^\/\/# sourceMappingURL=/d' frontend_widget/vendor/*.js "$demo"/*.js
