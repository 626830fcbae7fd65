"""One HTML feedback page per student and notebook, as nbgrader's ``generate_feedback`` makes.

Written for WCAG 2.1 AA: a language, a title, headings in order, a table with a caption and
header cells, state said in words (never by colour alone), and colours with at least 4.5:1
contrast on white. All text is escaped; check messages are the grader's own sentences.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from melange_lab.grading.grade import GradeReport, NotebookGrades, StudentGrades

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; padding: 0 1rem;
       color: #1a1a1a; background: #ffffff; line-height: 1.5; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #595959; padding: 0.4rem 0.6rem; text-align: left; vertical-align: top; }
caption { text-align: left; font-weight: bold; padding-bottom: 0.4rem; }
.passed { color: #1b5e20; font-weight: bold; }
.failed { color: #b71c1c; font-weight: bold; }
code { background: #f2f2f2; padding: 0 0.2rem; }
"""


def _points(value: float) -> str:
    return f"{value:g}"


def feedback_page(student: str, notebook: NotebookGrades, exercise_points: float) -> str:
    """The feedback page of one student's notebook."""
    score = sum(r.score for r in notebook.results)
    title = f"Feedback on {notebook.exercise} for {student}"
    rows = []
    for result in notebook.results:
        state = (
            '<span class="passed">&#10003; passed</span>'
            if result.passed
            else '<span class="failed">&#10007; not passed</span>'
        )
        message = escape(result.message) if result.message else "&nbsp;"
        rows.append(
            f'<tr><th scope="row"><code>{escape(result.check.grade_id)}</code></th>'
            f"<td>{state}</td><td>{_points(result.score)} of {_points(result.check.points)}</td>"
            f"<td>{message}</td></tr>"
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>",
        "<body><main>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Score: <strong>{_points(score)} of {_points(exercise_points)}</strong> points.</p>",
    ]
    if notebook.problem:
        parts += ["<h2>Your notebook was not run</h2>", f"<p>{escape(notebook.problem)}</p>"]
    if notebook.cell_problems:
        parts += ["<h2>Errors in your cells</h2>", "<ul>"]
        parts += [
            f"<li>Cell {p.cell}: <code>{escape(p.error)}</code></li>"
            for p in notebook.cell_problems
        ]
        parts += [
            "</ul>",
            "<p>A check after such a cell may fail because of it: fix the first one.</p>",
        ]
    if notebook.ended:
        parts.append(f"<p>The run stopped early: {escape(notebook.ended)}.</p>")
    parts += [
        "<h2>Checks</h2>",
        "<table><caption>Each check, whether it passed, its points and what to fix</caption>",
        '<thead><tr><th scope="col">Check</th><th scope="col">Result</th>'
        '<th scope="col">Points</th><th scope="col">Message</th></tr></thead>',
        "<tbody>",
        *rows,
        "</tbody></table>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _student_pages(report: GradeReport, grades: StudentGrades, folder: Path) -> list[Path]:
    written = []
    for exercise, notebook in sorted(grades.notebooks.items()):
        points = sum(c.points for c in report.checks if c.exercise == exercise) or sum(
            r.check.points for r in notebook.results
        )
        path = folder / f"{exercise}.html"
        path.write_text(feedback_page(grades.student, notebook, points), encoding="utf-8")
        written.append(path)
    return written


def write_feedback(report: GradeReport, out: Path) -> list[Path]:
    """Writes ``out/<student>/<exercise>.html`` for every notebook graded."""
    written = []
    for grades in report.students:
        folder = out / grades.student
        folder.mkdir(parents=True, exist_ok=True)
        written += _student_pages(report, grades, folder)
    return written
