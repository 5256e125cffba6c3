"""The first text of the three legal pages, in French and English. Staff adapt it in the
admin (the company's registration details and its host are theirs to fill in)."""

from django.db import migrations

LEGAL_NOTICE_FR = """## Éditeur du site
Le site et le service Waitify sont édités par Waitify SAS, société par actions simplifiée.
Siège social, capital social et numéro d'immatriculation au RCS : à compléter par l'éditeur.

## Directeur de la publication
Le représentant légal de Waitify SAS.

## Hébergement
Le site est hébergé par le prestataire d'hébergement de Waitify (nom, adresse et téléphone : à compléter par l'éditeur).
Les SMS sont envoyés par Amazon Web Services EMEA SARL (38 avenue John F. Kennedy, L-1855 Luxembourg).
Les paiements sont traités par Stripe Payments Europe Ltd. (Dublin, Irlande).

## Contact
Par e-mail : contact@waitify.fr

## Propriété intellectuelle
Les textes, logos et logiciels de Waitify sont protégés. Les noms et contenus des commerces restent la propriété de leurs exploitants."""

LEGAL_NOTICE_EN = """## Publisher
The Waitify website and service are published by Waitify SAS, a French simplified joint-stock company.
Registered office, share capital and trade register (RCS) number: to be completed by the publisher.

## Publication director
The legal representative of Waitify SAS.

## Hosting
The site is hosted by Waitify's hosting provider (name, address and telephone: to be completed by the publisher).
Text messages are sent by Amazon Web Services EMEA SARL (38 avenue John F. Kennedy, L-1855 Luxembourg).
Payments are processed by Stripe Payments Europe Ltd. (Dublin, Ireland).

## Contact
By e-mail: contact@waitify.fr

## Intellectual property
Waitify's texts, logos and software are protected. The names and content of the shops remain the property of the businesses that run them."""

TERMS_FR = """## Objet
Waitify permet aux commerces et aux services publics de gérer une file d'attente virtuelle : le client rejoint la file en scannant un code QR, puis reçoit un SMS quand son tour approche et quand il est arrivé. Ces conditions s'appliquent aux clients qui rejoignent une file (conditions générales d'utilisation) et aux commerçants abonnés (conditions générales de vente).

## Pour les clients
- Rejoindre une file est gratuit et ne demande pas de compte.
- Le temps d'attente affiché est une estimation : c'est le commerce qui appelle les clients, à son rythme.
- Si vous ne vous présentez pas à temps après l'appel, le commerce peut passer au client suivant.
- Vous pouvez quitter la file à tout moment depuis la page de votre ticket.
- Saisissez uniquement votre propre numéro de mobile : il sert seulement à vous prévenir de votre tour.

## Pour les commerçants
- Chaque nouveau compte bénéficie d'un essai gratuit de 14 jours, sans carte bancaire.
- Ensuite, l'abonnement est mensuel, au prix de la formule choisie affiché sur la page Facturation. Il est payé par carte via Stripe.
- Les SMS au-delà du quota mensuel de la formule sont facturés au prix unitaire affiché, sur la facture du mois suivant.
- L'abonnement peut être résilié à tout moment ; il reste actif jusqu'à la fin de la période payée. Sans abonnement à la fin de l'essai, le compte passe en lecture seule : les données restent consultables et exportables.
- Le commerçant s'engage à utiliser le service pour sa propre file d'attente, à n'envoyer aucun message à des personnes qui ne l'ont pas demandé et à informer ses clients.

## Responsabilité
Waitify met tout en œuvre pour que le service soit disponible et que les SMS partent sans délai, mais la remise des SMS dépend des opérateurs de téléphonie. Une file d'attente doit toujours pouvoir fonctionner sans SMS : le ticket reste consultable en ligne.

## Données personnelles
Voir la politique de confidentialité.

## Droit applicable
Ces conditions sont soumises au droit français. En cas de litige, une solution amiable est recherchée avant toute action ; à défaut, les tribunaux français sont compétents. Les consommateurs peuvent recourir gratuitement à un médiateur de la consommation.

## Contact
contact@waitify.fr"""

TERMS_EN = """## Purpose
Waitify lets shops and public services run a virtual queue: customers join by scanning a QR code, then get a text message when their turn is near and when it has come. These terms apply to customers who join a queue (terms of use) and to subscribing merchants (terms of sale).

## For customers
- Joining a queue is free and needs no account.
- The waiting time shown is an estimate: the shop calls customers at its own pace.
- If you do not come in time after being called, the shop may move on to the next customer.
- You can leave the queue at any time from your ticket page.
- Only enter your own mobile number: it is used only to tell you about your turn.

## For merchants
- Every new account gets a 14-day free trial, without a card.
- After that, the subscription is monthly, at the price of the chosen plan shown on the Billing page, paid by card through Stripe.
- Text messages beyond the plan's monthly allowance are charged at the unit price shown, on the following month's invoice.
- The subscription can be cancelled at any time; it stays active until the end of the paid period. Without a subscription at the end of the trial, the account becomes read-only: its data can still be viewed and exported.
- The merchant agrees to use the service for their own queue, to send no message to people who did not ask for it, and to inform their customers.

## Liability
Waitify does its best to keep the service available and to send text messages without delay, but their delivery depends on the mobile operators. A queue always works without text messages: the ticket can be followed online.

## Personal data
See the privacy policy.

## Governing law
These terms are governed by French law. In a dispute, an amicable solution is sought first; failing that, the French courts have jurisdiction. Consumers may use a consumer mediator free of charge.

## Contact
contact@waitify.fr"""

PRIVACY_FR = """## Qui est responsable
Pour les files d'attente, chaque commerce est responsable des données de ses clients ; Waitify les traite pour son compte. Pour les comptes des commerçants, Waitify est responsable du traitement.

## Ce que nous enregistrons
- Clients d'une file : le numéro de mobile saisi (sauf si vous choisissez de ne pas recevoir de SMS), le numéro de ticket, les heures d'arrivée, d'appel et de passage, et l'état du ticket (servi, manqué, annulé).
- Les SMS envoyés : leur type, leur date et leur état de remise.
- Pour limiter les abus, l'adresse IP et le numéro servent à compter les tentatives pendant une heure au plus.
- Commerçants : nom, e-mail, mot de passe (chiffré, jamais lisible), informations des commerces, formule et historique de facturation. Les données de carte bancaire sont traitées par Stripe et jamais enregistrées par Waitify.
- Cookies : la langue choisie, la session de connexion et la protection des formulaires. Aucun cookie publicitaire ni de mesure d'audience.

## Pourquoi
- Vous prévenir par SMS quand votre tour approche et quand il est arrivé.
- Permettre au commerce de gérer sa file et de connaître sa fréquentation (statistiques par jour, sans numéro de téléphone).
- Empêcher l'envoi de SMS à des personnes qui ne l'ont pas demandé.
- Facturer les commerçants et respecter nos obligations comptables.
Aucune donnée n'est vendue ni utilisée à des fins publicitaires.

## Combien de temps
- Les passages dans une file, numéro de téléphone compris, sont supprimés 90 jours après la visite. Seules les statistiques par jour, anonymes, sont conservées.
- Les journaux de SMS ne gardent aucun numéro de téléphone au-delà de 90 jours.
- Les données d'un compte commerçant sont conservées tant que le compte existe et supprimées avec lui ; les factures sont gardées 10 ans, comme l'exige le Code de commerce.

## Vos droits
Vous pouvez accéder à vos données, les faire rectifier ou effacer, en limiter l'usage, vous opposer à leur traitement et en demander une copie (portabilité). Vous pouvez aussi quitter une file à tout moment depuis la page de votre ticket. Si vous estimez que vos droits ne sont pas respectés, vous pouvez saisir la CNIL (www.cnil.fr).

## Contact
Pour exercer vos droits ou pour toute question : contact@waitify.fr. Nous répondons dans un délai d'un mois."""

PRIVACY_EN = """## Who is responsible
For queues, each shop is responsible for its customers' data; Waitify processes it on the shop's behalf. For merchant accounts, Waitify is the data controller.

## What we store
- Customers in a queue: the mobile number entered (unless you choose not to get text messages), the ticket number, the times of joining, being called and being served, and the ticket's state (served, missed, cancelled).
- Text messages sent: their kind, date and delivery status.
- To limit abuse, the IP address and the number are used to count attempts for one hour at most.
- Merchants: name, e-mail, password (hashed, never readable), business details, plan and billing history. Card details are handled by Stripe and never stored by Waitify.
- Cookies: the chosen language, the login session and form protection. No advertising or audience-measurement cookies.

## Why
- To text you when your turn is near and when it has come.
- To let the shop run its queue and know how busy it is (daily figures, without phone numbers).
- To prevent text messages being sent to people who did not ask for them.
- To bill merchants and meet our accounting obligations.
No data is sold or used for advertising.

## How long
- Queue visits, phone number included, are deleted 90 days after the visit. Only anonymous daily figures are kept.
- Text-message logs keep no phone number beyond 90 days.
- A merchant account's data is kept while the account exists and deleted with it; invoices are kept for 10 years, as French commercial law requires.

## Your rights
You can access your data, have it corrected or erased, restrict its use, object to its processing and ask for a copy (portability). You can also leave a queue at any time from your ticket page. If you think your rights are not respected, you can complain to the CNIL, the French data protection authority (www.cnil.fr).

## Contact
To exercise your rights or for any question: contact@waitify.fr. We answer within one month."""

PAGES = [
    ("legal-notice", "Mentions légales", "Legal notice", LEGAL_NOTICE_FR, LEGAL_NOTICE_EN),
    ("terms", "Conditions générales d'utilisation et de vente", "Terms of use and sale",
     TERMS_FR, TERMS_EN),
    ("privacy", "Politique de confidentialité", "Privacy policy", PRIVACY_FR, PRIVACY_EN),
]


def create_pages(apps, schema_editor):
    LegalPage = apps.get_model("businesses", "LegalPage")
    for slug, title_fr, title_en, body_fr, body_en in PAGES:
        # An existing page is staff's text: never overwrite it.
        LegalPage.objects.get_or_create(slug=slug, defaults={
            "title_fr": title_fr, "title_en": title_en, "body_fr": body_fr, "body_en": body_en,
        })


class Migration(migrations.Migration):

    dependencies = [
        ("businesses", "0005_h3_legal_pages"),
    ]

    operations = [
        migrations.RunPython(create_pages, migrations.RunPython.noop),
    ]
