"""The analysis tables: each as Parquet (typed) and as CSV in UTF-8 with a BOM, plus README.txt, a
data dictionary in Thai and English.

The BOM: Excel opens a CSV without one in the system's ANSI code page (cp874 on a Thai Windows), which
turns Thai UTF-8 into mojibake; with the BOM it reads UTF-8 ("Opening CSV UTF-8 files correctly in
Excel", Microsoft Support). Parquet is written without a creation time in its metadata (pyarrow
records only the writer's version), so the same frame gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.pandas_text import pd
from ingest.export.frames import INT, TEXT, TIME

# table → (English, Thai) description; column → (English, Thai) meaning. Question columns are described
# from their title (see `column_meaning`).
TABLES: dict[str, tuple[str, str]] = {
    "tracking": ("One row per unit: what it sent of each deliverable, as of the export's time.",
                 "หนึ่งแถวต่อหน่วยงาน: ส่งอะไรแล้วเท่าใดในแต่ละรายการ ณ เวลาที่ส่งออกข้อมูล"),
    "responses": ("One row per form response, counted or not (reason_th says why not).",
                  "หนึ่งแถวต่อคำตอบแบบสอบถาม ทั้งที่นับและไม่นับ (reason_th บอกเหตุผล)"),
    "files": ("One row per uploaded file, counted or not.", "หนึ่งแถวต่อไฟล์ที่อัปโหลด ทั้งที่นับและไม่นับ"),
    "focus_group": ("One row per question of each focus-group record read.",
                    "หนึ่งแถวต่อคำถามของแบบบันทึกสนทนากลุ่มแต่ละฉบับ"),
    "problems": ("What a coordinator should look at: unreadable rows, files nobody can place.",
                 "เรื่องที่ผู้ประสานงานควรตรวจ เช่น แถวที่อ่านไม่ได้ ไฟล์ที่ระบุหน่วยงานไม่ได้"),
    "runs": ("One row per sync run.", "หนึ่งแถวต่อการซิงก์แต่ละครั้ง"),
    "alerts": ("One row per reminder or digest e-mail planned or sent.", "หนึ่งแถวต่ออีเมลแจ้งเตือนหรือสรุปรายวัน"),
}
COLUMNS: dict[str, tuple[str, str]] = {
    "unit_code": ("official code of the unit (DOPA)", "รหัสหน่วยงาน (รหัสกรมการปกครอง)"),
    "unit_name": ("unit name in Thai", "ชื่อหน่วยงาน"),
    "group": ("parent unit's code (the group the unit belongs to)", "รหัสหน่วยงานแม่ (กลุ่มของหน่วยงาน)"),
    "status": ("overall status: missing, overdue, partial, waiting, late, complete, excused",
               "สถานะรวม (รหัสภาษาอังกฤษ)"),
    "status_th": ("overall status in Thai", "สถานะรวม"),
    "received": ("valid, distinct items received by the export's time", "จำนวนที่ได้รับและนับได้"),
    "expected": ("items each unit must send", "จำนวนที่กำหนดให้ส่ง"),
    "invalid": ("items received that do not count", "จำนวนที่ได้รับแต่ไม่นับ"),
    "deadline": ("due date plus grace", "กำหนดส่ง (รวมเวลาผ่อนผัน)"),
    "completed_at": ("when the last expected item arrived", "เวลาที่ส่งครบ"),
    "reasons_th": ("why items did not count", "เหตุผลที่ไม่นับ"),
    "note_th": ("override reason (excused, extended)", "เหตุผลการยกเว้นหรือขยายเวลา"),
    "response_id": ("the response's id at its source", "รหัสคำตอบจากแหล่งข้อมูล"),
    "deliverable": ("deliverable id from the config", "รหัสรายการที่ต้องส่ง"),
    "unit_text": ("the unit as typed or as the folder is named", "ชื่อหน่วยงานตามที่พิมพ์หรือชื่อโฟลเดอร์"),
    "submitted_at": ("when the form was submitted", "เวลาที่ส่งแบบสอบถาม"),
    "respondent_email": ("respondent's e-mail (personal data)", "อีเมลผู้ตอบ (ข้อมูลส่วนบุคคล)"),
    "counted": ("true when the row counts towards the unit's deliverable", "นับหรือไม่"),
    "reason_th": ("why the row does not count", "เหตุผลที่ไม่นับ"),
    "duplicate_of": ("the row this one repeats", "ซ้ำกับรายการใด"),
    "origin": ("where a person finds the item again", "ตำแหน่งของรายการในแหล่งข้อมูล"),
    "file_id": ("the file's id at its source", "รหัสไฟล์"),
    "name": ("file name as uploaded", "ชื่อไฟล์"),
    "folder": ("folder path under the upload folder", "โฟลเดอร์"),
    "kind": ("document, photo or other", "ประเภทไฟล์ตามรายการ"),
    "content_type": ("what the bytes really are (docx, jpeg, pdf, ...)", "ชนิดไฟล์ตามเนื้อหาจริง"),
    "size": ("bytes", "ขนาด (ไบต์)"),
    "sha256": ("SHA-256 of the content", "ค่าแฮช SHA-256 ของเนื้อหา"),
    "created_at": ("when the file was created at its source", "เวลาที่สร้างไฟล์"),
    "arrived_at": ("when the file came into the upload folder", "เวลาที่ไฟล์เข้ามาในโฟลเดอร์"),
    "uploader_email": ("uploader's e-mail (personal data)", "อีเมลผู้อัปโหลด (ข้อมูลส่วนบุคคล)"),
    "violations": ("codes of the rules the file breaks", "รหัสกฎที่ไฟล์ไม่ผ่าน"),
    "part": ("part of the record (1-3)", "ส่วนที่"),
    "number": ("question number within the part", "ข้อที่"),
    "question": ("question text as the record has it", "ข้อคำถาม"),
    "answer": ("answer text", "คำตอบ"),
    "source": ("source name from the config", "ชื่อแหล่งข้อมูล"),
    "text": ("the raw text involved", "ข้อความที่เกี่ยวข้อง"),
    "detail": ("what went wrong", "รายละเอียด"),
    "candidates": ("units the text might mean", "หน่วยงานที่อาจหมายถึง"),
    "run_id": ("run number", "ลำดับการซิงก์"),
    "started_at": ("when the run started", "เวลาเริ่ม"),
    "finished_at": ("when it finished", "เวลาสิ้นสุด"),
    "as_of": ("the time statuses were evaluated at", "เวลาที่ใช้ประเมินสถานะ"),
    "outcome": ("ok, partial, degraded, failed, interrupted", "ผลการซิงก์"),
    "responses": ("responses stored after the run", "จำนวนคำตอบ"),
    "files": ("files stored after the run", "จำนวนไฟล์"),
    "problems": ("problem rows after the run", "จำนวนปัญหา"),
    "api_calls": ("Google API calls per method (JSON)", "จำนวนการเรียก Google API"),
    "error": ("error text", "ข้อผิดพลาด"),
    "message_id": ("e-mail id in the alert log", "รหัสอีเมล"),
    "unit": ("unit code", "รหัสหน่วยงาน"),
    "stage": ("reminder stage", "รอบการแจ้งเตือน"),
    "stages": ("stages the message covers", "รอบที่ครอบคลุม"),
    "owed": ("what the unit still owed", "สิ่งที่ยังค้างส่ง"),
    "to": ("recipients", "ผู้รับ"), "cc": ("copy recipients", "สำเนาถึง"),
    "subject": ("e-mail subject", "หัวเรื่อง"), "day": ("Bangkok day of the message", "วันที่"),
    "refused": ("recipients the server refused", "ผู้รับที่เซิร์ฟเวอร์ปฏิเสธ"),
}
TYPE_NAMES = {TIME: ("timestamp with zone (Asia/Bangkok)", "วันเวลา (เขตเวลา Asia/Bangkok)"),
              INT: ("integer", "จำนวนเต็ม"), "boolean": ("true/false", "จริง/เท็จ"), TEXT: ("text", "ข้อความ")}


def column_meaning(column: str, kind: str) -> tuple[str, str]:
    if column in COLUMNS:
        return COLUMNS[column]
    for suffix, meaning in COLUMNS.items():  # tracking: "<deliverable>_<fact>"
        if column.endswith(f"_{suffix}"):
            deliverable = column[: -len(suffix) - 1]
            return f"{deliverable}: {meaning[0]}", f"{deliverable}: {meaning[1]}"
    if kind == INT:
        return (f"answer to the form question \u201c{column}\u201d, 1-5 (มากที่สุด 5 ... น้อยที่สุด 1)",
                f"คำตอบข้อ \u201c{column}\u201d แปลงเป็นคะแนน 1-5 (มากที่สุด = 5 ถึง น้อยที่สุด = 1)")
    return f"answer to the form question \u201c{column}\u201d", f"คำตอบข้อ \u201c{column}\u201d"


def kind_of(series: pd.Series) -> str:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return TIME
    if str(series.dtype) == "Int64":
        return INT
    if series.dtype == bool:
        return "boolean"
    return TEXT


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    # Times as ISO 8601 with their offset (+07:00), which Excel and pandas both read.
    out = frame.copy()
    for column in out.columns:
        if kind_of(out[column]) == TIME:
            out[column] = out[column].map(lambda t: "" if pd.isna(t) else t.isoformat())
    path.write_bytes(out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))


def data_dictionary(frames: Mapping[str, pd.DataFrame], *, title: str, pseudonymised: bool) -> str:
    lines = [f"{title}", "", "พจนานุกรมข้อมูล / Data dictionary", "",
             "แต่ละตารางมีสองรูปแบบ: .parquet (ชนิดข้อมูลครบ) และ .csv (UTF-8 มี BOM เปิดใน Excel ได้)",
             "Each table comes twice: .parquet (typed) and .csv (UTF-8 with BOM, opens in Excel).", ""]
    if pseudonymised:
        lines += ["ชื่อและอีเมลของบุคคลถูกแทนด้วยรหัสแฝง (pseudonym) ที่คงเดิมเมื่อใช้กุญแจเดียวกัน",
                  "Names and e-mails of people are replaced by stable pseudonyms (keyed HMAC).", ""]
    for name, frame in frames.items():
        en, th = TABLES.get(name, ("", ""))
        lines += [f"== {name}.parquet / {name}.csv ({len(frame)} rows) ==", en, th, ""]
        lines.append("column\ttype\tmeaning\tความหมาย")
        for column in frame.columns:
            kind = kind_of(frame[column])
            meaning = column_meaning(column, kind)
            lines.append(f"{column}\t{TYPE_NAMES[kind][0]} / {TYPE_NAMES[kind][1]}\t{meaning[0]}\t{meaning[1]}")
        lines.append("")
    return "\r\n".join(lines)


def write_tables(frames: Mapping[str, pd.DataFrame], folder: Path, *, title: str, pseudonymised: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in frames.items():
        write_parquet(frame, folder / f"{name}.parquet")
        write_csv(frame, folder / f"{name}.csv")
        written += [folder / f"{name}.parquet", folder / f"{name}.csv"]
    readme = folder / "README.txt"
    readme.write_bytes(data_dictionary(frames, title=title, pseudonymised=pseudonymised).encode("utf-8-sig"))
    return [*written, readme]
