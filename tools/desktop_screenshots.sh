#!/usr/bin/env bash
# Makes the screenshots of docs/desktop.md under Xvfb with the desktop's own --screenshot
# (glReadPixels + stb_image_write): a chat with a rendered markdown answer and the sidebar
# (from a saved conversation written here), and the tile maps of a tall receipt and a wide
# table (docs/images/tall_receipt.png, wide_table.png: assets/samples' receipt and table
# repeated 6 times down and 5 times across). Usage: tools/desktop_screenshots.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-build}/app/desktop/minimax-vl-desktop"
out=docs/images
conv=$(mktemp -d)
trap 'rm -rf "$conv"' EXIT
now=$(date +%s)
write_conv() {  # id title updated user-text assistant-text(JSON string)
  cat >"$conv/$1.json" <<JSON
{"format": "minimax-vl-conversation/1", "title": "$2", "updated": $3,
 "transcript": {"format": "minimax-vl-transcript/1", "messages": [
  {"role": "user", "content": [{"type": "text", "text": "$4"}]},
  {"role": "assistant", "content": [{"type": "text", "text": $5}]}]}}
JSON
}
write_conv 20261205-101500 "Receipt from the cafe" $((now - 90000)) "What did I buy?" '"A latte and a croissant."'
write_conv 20261205-174200 "Chart: revenue by quarter" $((now - 50000)) "Summarise the chart." '"Revenue grows every quarter."'
write_conv 20261206-081000 "发票金额是多少？" $((now - 3000)) "发票金额是多少？" '"总金额为 **1,284.50 元**。"'
answer='"## Invoice INV-2041\n\nThe invoice is from **Acme Office Supply** and is *due on 15 January*. The items:\n\n| Item | Qty | Unit price | Amount |\n|:--|--:|--:|--:|\n| Paper A4, box | 4 | 24.90 | 99.60 |\n| Toner cartridge | 2 | 89.00 | 178.00 |\n| Desk lamp | 1 | 45.50 | 45.50 |\n\n- Subtotal: `323.10`\n- Tax (20%): `64.62`\n- **Total due: 387.72**\n\nTo check the sum in Python:\n\n```python\nitems = [99.60, 178.00, 45.50]\nprint(round(sum(items) * 1.2, 2))  # 387.72\n```\n\n> Paid by bank transfer; 中文备注：请于到期日前付款。"'
write_conv 20261206-091500 "Invoice total and items" "$now" "Read this invoice: who is it from, what are the items and the total?" "$answer"
run() { xvfb-run -a "$bin" --self-test 20 -m assets/models/tiny-random --self-test-message "" "$@"; }
run --conversations "$conv" --open 20261206-091500 --screenshot "$out/desktop-markdown.png"
run -i "$out/tall_receipt.png" --screenshot "$out/desktop-tilemap-receipt.png"
run -i "$out/wide_table.png" --max-image-tokens 2000 --screenshot "$out/desktop-tilemap-table.png"
# The bundled tiny document model answering about the sample receipt (attached with -i, which
# calls the controller's attach_image as a drop on the window does).
xvfb-run -a "$bin" --self-test 40 -m assets/models/tiny-docs -i assets/samples/receipt.png \
  --self-test-message "What is the total?" --self-test-tokens 16 --conversations "$conv/docs" \
  --screenshot "$out/desktop-receipt-total.png"
ls -l "$out"/desktop-*.png
