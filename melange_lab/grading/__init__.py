"""The teacher's tools: the student version of the exercises, and sandboxed grading.

Exercises follow nbgrader's conventions (``notebooks``). Grading finds each student's notebooks
(``discovery``), rebuilds each one from the teacher's locked cells and the student's answers
(``restore``), runs it in a bubblewrap sandbox (``sandbox``, ``execute``, ``runner``), reads
back only a strict result format (``protocol``) and writes the tables and feedback pages
(``reports``, ``feedback``).
"""

from melange_lab.errors import SolutionMarkersUnbalanced
from melange_lab.grading.commands import grade_main, student_version_main, validate_main
from melange_lab.grading.grade import (
    Check,
    CheckResult,
    GradeReport,
    StudentGrades,
    grade_submissions,
)
from melange_lab.grading.notebooks import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    strip_solution,
    student_notebook,
    write_student_version,
)
from melange_lab.grading.reports import write_reports

__all__ = [
    "BEGIN_SOLUTION",
    "END_SOLUTION",
    "Check",
    "CheckResult",
    "GradeReport",
    "SolutionMarkersUnbalanced",
    "StudentGrades",
    "grade_main",
    "grade_submissions",
    "strip_solution",
    "student_notebook",
    "student_version_main",
    "validate_main",
    "write_reports",
    "write_student_version",
]
