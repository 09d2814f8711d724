"""PDF documents: the "Acte d'adhésion" of an entity, and each licence for attachments."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from extensions.i18n import DEFAULT, N_, _, speaking
from registry_plugin.models import Account, Adhesion, Entity, EntityAcceptance, Licence
from registry_plugin.vocabulary import CATEGORIES, country_name

STYLES = getSampleStyleSheet()


def _paris(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_("%d/%m/%Y à %H:%M:%S UTC"))


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(
        [[Paragraph(escape(c), STYLES["BodyText"]) for c in row] for row in rows], colWidths=widths
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def address_line(entity: Entity) -> str:
    line = f"{entity.address}, {entity.postal_code} {entity.city}"
    if entity.parent_establishment:
        line += _(
            " — établissement de rattachement : %(parent_establishment)s",
            parent_establishment=entity.parent_establishment,
        )
    return line


def adhesion_act(
    adhesion: Adhesion,
    entity: Entity,
    referent: Account,
    acceptances: list[EntityAcceptance],
    decided_at: datetime,
    lang: str = DEFAULT,
) -> bytes:
    """The timestamped act: entity, RL, RD, and each accepted licence with its version and time;
    in French, the language of the act, unless `lang` says otherwise."""
    with speaking(lang):
        return _adhesion_act(adhesion, entity, referent, acceptances, decided_at)


def _adhesion_act(
    adhesion: Adhesion,
    entity: Entity,
    referent: Account,
    acceptances: list[EntityAcceptance],
    decided_at: datetime,
) -> bytes:
    rl = entity.legal_representative
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=_("Acte d'adhésion DINAMIS — %(name)s", name=entity.name),
        author="DINAMIS",
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
    )
    number = f"ADH-{decided_at.year}-{adhesion.id:05d}"
    story = [
        Paragraph(_("Acte d'adhésion au dispositif DINAMIS"), STYLES["Title"]),
        Paragraph(
            _(
                "Dispositif Institutionnel National d'Approvisionnement Mutualisé en Imagerie Satellitaire"
            ),
            STYLES["Italic"],
        ),
        Spacer(1, 0.4 * cm),
        Paragraph(
            _(
                "Acte n° <b>%(number)s</b> — adhésion acceptée le %(decided_at)s.",
                number=number,
                decided_at=_paris(decided_at),
            ),
            STYLES["BodyText"],
        ),
        Spacer(1, 0.4 * cm),
        Paragraph("Entité", STYLES["Heading2"]),
        _table(
            [
                [_("Acronyme"), _("Nom complet"), _("Nationalité"), _("Catégorie")],
                [
                    entity.acronym,
                    entity.name,
                    country_name(entity.nationality),
                    _(CATEGORIES.get(entity.category, entity.category)),
                ],
            ],
            [3 * cm, 5.5 * cm, 3 * cm, 5.5 * cm],
        ),
        Spacer(1, 0.2 * cm),
        Paragraph(escape(address_line(entity)), STYLES["BodyText"]),
        Paragraph(_("Représentant légal et Référent DINAMIS"), STYLES["Heading2"]),
        _table(
            [
                [_("Rôle"), _("Nom"), _("Fonction"), _("E-mail")],
                [
                    _("Représentant légal"),
                    rl.full_name if rl else "—",
                    rl.function if rl else "—",
                    rl.email if rl else "—",
                ],
                [_("Référent DINAMIS"), referent.full_name, referent.function, referent.email],
            ],
            [3.5 * cm, 3.5 * cm, 3.5 * cm, 6.5 * cm],
        ),
        Paragraph(_("Charte et licences acceptées"), STYLES["Heading2"]),
        _table(
            [[_("Document"), _("Version"), _("Accepté le"), _("Par")]]
            + [
                [a.licence.title, a.licence.version, _paris(a.accepted_at), a.accepted_by]
                for a in acceptances
            ],
            [6 * cm, 2 * cm, 4.5 * cm, 4.5 * cm],
        ),
        Spacer(1, 0.2 * cm),
    ]
    if adhesion.rl_validated_at:
        story.append(
            Paragraph(
                _(
                    "Demande validée électroniquement par le représentant légal le %(rl_validated_at)s.",
                    rl_validated_at=_paris(adhesion.rl_validated_at),
                ),
                STYLES["BodyText"],
            )
        )
    story += [
        Spacer(1, 0.6 * cm),
        Paragraph(
            _(
                "L'adhésion est effective à la date ci-dessus. Ce document est à conserver par l'entité."
            ),
            STYLES["BodyText"],
        ),
    ]
    document.build(story)
    return buffer.getvalue()


def licence_pdf(licence: Licence) -> bytes:
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=licence.title, author="DINAMIS")
    story = [
        Paragraph(escape(licence.title), STYLES["Title"]),
        Paragraph(_("Version %(version)s", version=escape(licence.version)), STYLES["Italic"]),
        Spacer(1, 0.5 * cm),
        *[Paragraph(escape(p), STYLES["BodyText"]) for p in licence.document.split("\n\n")],
    ]
    document.build(story)
    return buffer.getvalue()


PROJECT_FIELDS = (
    ("entite", N_("Entité (nom complet et acronyme)"), 1),
    ("titre", N_("Titre du projet de R&D"), 1),
    ("responsable", N_("Responsable scientifique (nom, fonction, e-mail)"), 1),
    ("periode", N_("Période du projet (JJ/MM/AAAA - JJ/MM/AAAA)"), 1),
    ("contexte", N_("Contexte et objectifs du projet"), 5),
    ("donnees", N_("Données souhaitées (capteurs, zone, période) et usage prévu"), 5),
    ("partenaires", N_("Partenaires publics ou académiques du projet"), 3),
    ("livrables", N_("Résultats attendus et diffusion (publications, démonstrateurs)"), 3),
)


def project_template() -> bytes:
    """The R&D project description as a fillable PDF form (AcroForm fields), so that the
    filled file is the PDF the adhesion asks for."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    page.setTitle(_("DINAMIS — description d'un projet de R&D"))
    width, height = A4
    y = height - 2.2 * cm
    page.setFont("Helvetica-Bold", 15)
    page.drawString(2 * cm, y, _("DINAMIS — description du projet de R&D"))
    page.setFont("Helvetica", 9)
    y -= 0.6 * cm
    page.drawString(
        2 * cm,
        y,
        _("À compléter, enregistrer en PDF et joindre à la demande d'adhésion (25 Mo au plus)."),
    )
    for name, label, lines in PROJECT_FIELDS:
        box = 0.75 * cm * lines
        y -= 0.9 * cm
        page.setFont("Helvetica-Bold", 10)
        page.drawString(2 * cm, y, _(label))
        y -= box + 0.15 * cm
        page.acroForm.textfield(
            name=name,
            tooltip=_(label),
            x=2 * cm,
            y=y,
            width=width - 4 * cm,
            height=box,
            fontSize=10,
            borderWidth=0.5,
            fieldFlags="multiline" if lines > 1 else "",
        )
    page.showPage()
    page.save()
    return buffer.getvalue()
