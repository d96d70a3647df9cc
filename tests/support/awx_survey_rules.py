"""AWX's survey rules, as the AWX API applies them (read in ansible/awx, not imported: AWX is a
Django application that cannot run here).

* ``spec_errors``: what ``POST /api/v2/job_templates/<id>/survey_spec/`` refuses with 400
  (``JobTemplateSurveySpec._validate_spec_data`` in awx/api/views): the spec needs ``name`` and
  ``description`` (strings) and a non-empty ``spec`` list; each question is an object with
  ``type``, ``question_name``, ``variable`` (strings) and ``required`` (a boolean); variables are
  unique; the type is one of the seven allowed; a non-empty default has the type's Python type;
  ``min``/``max`` are integers (or null); a multiplechoice or multiselect lists ``choices``, a
  multiplechoice has one default, and every default is among the choices; ``$encrypted$`` starts
  a default only of a password question that had one.
* ``element_errors``: what a launch refuses (``SurveyJobTemplateMixin._survey_element_validation``
  in awx/main/models/mixins.py): a required variable missing, a value of the wrong type, a text
  shorter than ``min`` or longer than ``max``, a number outside them, a choice not listed.
* ``launch_extra_vars``: the extra variables of a launch (``_update_unified_job_kwargs``): each
  default that passes ``element_errors`` on its own, then what the launch gave.

AWX answers the first problem only; these functions list them all, each in AWX's words.
"""
from __future__ import annotations

ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": float}


def _choices(question):
    choices = question.get("choices")
    if isinstance(choices, str):
        return [choice for choice in choices.splitlines() if choice.strip()]
    return list(choices or [])


def spec_errors(new_spec, old_spec=None):
    """The problems AWX answers 400 for, in order; [] when it takes the spec."""
    if not isinstance(new_spec, dict):
        return ["Survey spec is not a json object."]
    errors = []
    for field, expect, label in (("name", str, "string"), ("description", str, "string"),
                                 ("spec", list, "list of items")):
        if field not in new_spec:
            errors.append("Field '%s' is missing from survey spec." % field)
        elif not isinstance(new_spec[field], expect):
            errors.append("Expected %s for field '%s', received %s type." % (label, field, type(new_spec[field]).__name__))
    if isinstance(new_spec.get("spec"), list) and not new_spec["spec"]:
        errors.append("'spec' doesn't contain any items.")
    if errors:
        return errors
    old = {q.get("variable"): q for q in (old_spec or {}).get("spec", []) if isinstance(q, dict)}
    seen = set()
    for idx, question in enumerate(new_spec["spec"]):
        errors.extend(_question_errors(idx, question, seen, old))
    return errors


def _question_errors(idx, question, seen, old):
    if not isinstance(question, dict):
        return ["Survey question %d is not a json object." % idx]
    for field in ("type", "question_name", "variable", "required"):
        if field not in question:
            return ["'%s' missing from survey question %d" % (field, idx)]
        want, label = (bool, "boolean") if field == "required" else (str, "string")
        if not isinstance(question[field], want):
            return ["'%s' in survey question %d expected to be %s." % (field, idx, label)]
    errors = []
    if question["variable"] in seen:
        errors.append("'variable' '%s' duplicated in survey question %d." % (question["variable"], idx))
    seen.add(question["variable"])
    qtype = question["type"]
    if qtype not in ALLOWED_TYPES:
        return errors + ["'%s' in survey question %d is not one of '%s' allowed question types."
                         % (qtype, idx, ", ".join(ALLOWED_TYPES))]
    default = question.get("default")
    if "default" in question and default != "" and not isinstance(default, ALLOWED_TYPES[qtype]):
        errors.append("Default value %s in survey question %d expected to be %s."
                      % (default, idx, qtype if qtype in ("integer", "float") else "string"))
    for key in ("min", "max"):
        if question.get(key) is not None and not isinstance(question[key], int):
            errors.append("The %s limit in survey question %d expected to be integer." % (key, idx))
    if qtype in ("multiplechoice", "multiselect"):
        if "choices" not in question:
            errors.append("Survey question %d of type %s must specify choices." % (idx, qtype))
        elif "default" in question:
            defaults = [d for d in default.splitlines() if d.strip()] if isinstance(default, str) else list(default or [])
            if qtype == "multiplechoice" and len(defaults) > 1:
                errors.append("Multiple Choice (Single Select) can only have one default value.")
            if any(d not in _choices(question) for d in defaults):
                errors.append("Default choice must be answered from the choices listed.")
    if isinstance(default, str) and default.startswith("$encrypted$"):
        if qtype != "password":
            errors.append("$encrypted$ is a reserved keyword for password question defaults, survey question %d is "
                          "type %s." % (idx, qtype))
        elif not _had_a_password_default(old.get(question["variable"])):
            errors.append("$encrypted$ is a reserved keyword, may not be used for new default in position %d." % idx)
    return errors


def _had_a_password_default(old_question):
    old_default = (old_question or {}).get("default")
    return isinstance(old_default, str) and (old_default.startswith("$encrypted$") or old_default == "")


def element_errors(question, data):
    """What a launch with extra variables ``data`` is refused for by this question."""
    var, qtype = question["variable"], question["type"]
    if var not in data:
        return ["'%s' value missing" % var] if question["required"] else []
    value = data[var]
    low = question.get("min") if question.get("min") not in ("", None) else None
    high = question.get("max") if question.get("max") not in ("", None) else None
    if qtype in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, var)]
        errors = []
        if low is not None and len(value) < int(low):
            errors.append("'%s' value %s is too small (length is %d must be at least %s)." % (var, value, len(value), low))
        if high is not None and len(value) > int(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, high))
        return errors
    if qtype in ("integer", "float"):
        numeric = (int,) if qtype == "integer" else (int, float)
        if type(value) not in numeric:  # a bool is no integer here either
            return ["Value %s for '%s' expected to be %s." % (value, var, "an integer" if qtype == "integer"
                                                                          else "a numeric type")]
        errors = []
        if low is not None and value < float(low):
            errors.append("'%s' value %s is too small (must be at least %s)." % (var, value, low))
        if high is not None and value > float(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (var, value, high))
        return errors
    if qtype == "multiselect":
        if not isinstance(value, list):
            return ["'%s' value is expected to be a list." % var]
        return ["Value %s for '%s' expected to be one of %s." % (v, var, _choices(question))
                for v in value if v not in _choices(question)]
    if qtype == "multiplechoice" and value not in _choices(question):
        return ["Value %s for '%s' expected to be one of %s." % (value, var, _choices(question))]
    return []


def launch_extra_vars(spec, runtime=None):
    """The extra variables AWX gives the playbook: the survey defaults that are valid answers, then
    the launch's own ``runtime`` variables over them."""
    extra = {}
    for question in spec.get("spec", []):
        default = question.get("default")
        if default is not None and not element_errors(question, {question["variable"]: default}):
            extra[question["variable"]] = default
    extra.update(runtime or {})
    return extra


def launch_errors(spec, extra_vars):
    """``variables_needed_to_start``: why a launch with ``extra_vars`` does not start."""
    return [error for question in spec.get("spec", []) for error in element_errors(question, extra_vars)]
