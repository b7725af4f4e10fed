"""QR codes as inline SVG data: URIs, so a PDF needs no file and no fetch to show one."""
import base64
import functools

import qrcode
from qrcode.image.svg import SvgPathImage

MAX_QR_TEXT = 1000  # a payment link is ~60 characters; a bank's ST00012 string is ~300


@functools.lru_cache(maxsize=256)
def qr_data_uri(text: str) -> str:
    text = str(text)
    if not text:
        return ""
    if len(text) > MAX_QR_TEXT:
        raise ValueError(f"A QR code may hold at most {MAX_QR_TEXT} characters.")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0,
                         image_factory=SvgPathImage)
    code.add_data(text)
    code.make(fit=True)
    svg = code.make_image().to_string()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
