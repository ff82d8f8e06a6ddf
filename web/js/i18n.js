// i18n.js — Russian and English texts of the client, the current language
// (localStorage, else navigator.language), plural forms, and date/duration
// formatting. Static markup is translated through data-i18n* attributes
// (applyI18n); views re-render on the 'langchange' event.

const STORAGE_KEY = 'consilium.lang';
export const LANGS = ['ru', 'en'];

const en = {
  'app.tagline': 'Telemedicine consultations',
  'app.skip': 'Skip to main content',
  'app.connecting': 'Connecting to the centre…',

  'header.centre': 'Centre',
  'header.signout': 'Sign out',
  'header.lang': 'Language',
  'header.user': 'Signed in as',
  'conn.online': 'Connected',
  'conn.reconnecting': 'Reconnecting…',

  'role.clinician': 'Clinician',
  'role.specialist': 'Specialist',
  'role.coordinator': 'Coordinator',
  'role.patient': 'Patient',
  'role.interpreter': 'Interpreter',

  'banner.lost': 'Connection to the centre lost.',
  'banner.retryIn': 'Next attempt in {s} s (attempt {n}).',
  'banner.retrying': 'Reconnecting…',
  'banner.retryNow': 'Retry now',
  'banner.hint': 'Your work is kept: the lists update as soon as the link is back.',
  'status.reconnected': 'Connection restored.',
  'session.expiring': 'Your session ends at {time}. To keep working after that, open a new link from your centre.',

  'signin.title': 'Sign in to Consilium',
  'signin.lead': 'Open the personal link your regional centre sent you (by e-mail or in the hospital information system). The link signs you in by itself.',
  'signin.guestLead': 'Patients and interpreters invited to a consultation: open the invitation link you received.',
  'signin.pasteLabel': 'Or paste the link or the sign-in code here',
  'signin.pasteHint': 'A link looks like https://…/#token=… or https://…/#invite=…',
  'signin.submit': 'Sign in',
  'signin.bad': 'This does not look like a sign-in link or code. Copy the whole link and try again.',
  'signin.empty': 'Paste the link first.',
  'signin.signedOut': 'You have signed out. To sign in again, open your link.',
  'signin.privacy': 'The link is personal: do not forward it. It is kept only in this browser tab and is removed from the address bar.',

  'auth.unauthenticated': 'The sign-in link was not accepted: it may be incomplete or issued for another system. Ask your centre for a new link.',
  'auth.expired': 'Your sign-in link has expired. Ask your centre for a new link.',
  'auth.sessionExpired': 'Your session has ended because the sign-in link expired. Open a new link from your centre.',
  'auth.inviteRefused': 'The invitation was not accepted: it may have expired, or the consultation is over.',

  'err.invalid': 'The server refused the request as malformed. Check what you entered and try again.',
  'err.invalidField': 'The server did not accept the field “{field}”. Check it and try again.',
  'err.unsupported': 'The centre’s server does not support this action. Reload the page; if it happens again, tell the centre’s support.',
  'err.unauthenticated': 'You are not signed in, or the sign-in link was not accepted. Open your link from the centre again.',
  'err.expired': 'Your sign-in link or invitation has expired. Ask your centre for a new one.',
  'err.forbidden': 'Your role or centre may not do this.',
  'err.not_found': 'This consultation (or user) was not found, or is not available to you.',
  'err.wrong_state': 'This is not possible in the consultation’s current state. The list shows the current state.',
  'err.taken': 'Another specialist took this request.',
  'err.exists': 'This has already been done.',
  'err.limit': 'A limit was reached (too many actions, participants or open requests). Wait a little and try again.',
  'err.storage': 'The server could not save the change; nothing was changed. Try again.',
  'err.no_memory': 'The server is overloaded; nothing was changed. Try again in a few minutes.',
  'err.offline': 'No connection to the centre: the action was not sent. Try again when the connection is back.',
  'err.timeout': 'The centre did not answer in time. Check the list: the action may not have been done.',
  'err.disconnected': 'The connection broke before the centre answered. Check the list after reconnecting: the action may not have been done.',
  'err.unknown': 'Unexpected error ({code}). Try again; if it happens again, tell the centre’s support.',
  'err.request.limit': 'You have too many open requests, or the service is at capacity. Cancel or finish some requests first.',
  'err.accept.not_found': 'This request is no longer available to you (it was cancelled, routed or taken).',
  'err.accept.wrong_state': 'This request was cancelled or has expired.',
  'err.decline.wrong_state': 'This request is no longer in the queue.',
  'err.cancel.wrong_state': 'The request can no longer be cancelled: the consultation has started or is over.',
  'err.join.wrong_state': 'The room is not open: the consultation has not been accepted yet, or it is over.',
  'err.end.wrong_state': 'The consultation can no longer be ended: it has not been accepted yet, or it is already over.',
  'err.assign.not_found': 'No such specialist has signed in at your centre.',
  'err.assign.forbidden': 'This specialist lacks the required specialty, or the request belongs to another centre.',
  'err.route.forbidden': 'Your centre may not route requests to this centre.',
  'err.route.exists': 'The request has already been routed to this centre.',
  'err.route.not_found': 'This request or centre was not found.',
  'err.presence.forbidden': 'Only specialists set an availability status.',
  'err.presence.wrong_state': 'Your status can be changed only while connected to the centre.',
  'close.1001': 'The centre’s server is restarting.',
  'close.1003': 'The connection was refused by the server (unexpected data).',
  'close.1006': 'The network connection was interrupted.',
  'close.1008': 'The server closed the connection (too many messages, or the link is too slow).',
  'close.1009': 'A message was too large for the server.',
  'close.1011': 'The server could not start the session.',
  'close.1013': 'The server has too many connections right now.',
  'close.4002': 'Signing in took too long.',
  'close.heartbeat': 'The centre stopped answering.',

  'field.patient.id': 'Patient identifier',
  'field.patient.name': 'Patient’s full name',
  'field.patient.birth_date': 'Date of birth',
  'field.specialty': 'Specialty',
  'field.urgency': 'Urgency',
  'field.mode': 'Mode',
  'field.reason': 'Reason for consultation',
  'field.tenant': 'Centre code',
  'field.specialist': 'Specialist',

  'form.title': 'New consultation request',
  'form.patient': 'Patient',
  'form.patientId': 'Patient identifier',
  'form.patientId.hint': 'SNILS, health insurance policy or medical record number',
  'form.patientName': 'Full name',
  'form.birthDate': 'Date of birth',
  'form.request': 'Request',
  'form.specialty': 'Specialty',
  'form.choose': '— choose —',
  'form.urgency': 'Urgency (form of care)',
  'form.deadlinesNote': 'Default acceptance times; the exact deadline is shown on the request once it is sent.',
  'form.mode': 'Mode',
  'form.reason': 'Reason for consultation',
  'form.reason.hint': 'Complaints, key findings and test results, and your question to the specialist.',
  'form.noAttachments': 'Attachments (ECG, images, lab results) are not supported yet: describe the key findings in the text.',
  'form.submit': 'Send request',
  'form.sending': 'Sending…',
  'form.clear': 'Clear form',
  'form.sent': 'Request sent: {patient}, {specialty}.',
  'form.fix': 'Please correct the marked fields.',
  'form.serverRefused': 'The request was not sent.',

  'v.required': 'Fill in this field.',
  'v.choose': 'Choose one of the options.',
  'v.tooLong': 'Too long: shorten it by about {over} characters.',
  'v.control': 'Remove special (control) characters.',
  'v.date': 'Enter a valid date.',
  'v.dateFuture': 'The date of birth cannot be in the future.',
  'v.dateOld': 'Check the year of birth.',
  'v.slug': 'Enter a centre code: lower-case Latin letters, digits, “-” or “_”.',
  'v.sameCentre': 'This is your own centre.',

  'urgency.emergency': 'Emergency',
  'urgency.urgent': 'Urgent',
  'urgency.planned': 'Planned',
  'urgency.emergency.hint': 'Threat to the patient’s life. Accepted within 2 hours at most, usually within minutes.',
  'urgency.urgent.hint': 'No obvious threat to life, but help is needed soon. Accepted within 24 hours.',
  'urgency.planned.hint': 'No threat to life; a delay will not worsen the condition. Accepted within 7 days.',

  'mode.realtime': 'Real time (video)',
  'mode.deferred': 'Deferred',
  'mode.realtime.hint': 'The specialist joins a video call with you and the patient.',
  'mode.deferred.hint': 'The specialist studies the case and replies with a conclusion later.',
  'mode.realtime.short': 'Video',
  'mode.deferred.short': 'Deferred',

  'state.requested': 'Waiting for a specialist',
  'state.offered': 'Offered to specialists',
  'state.accepted': 'Accepted',
  'state.in_progress': 'In progress',
  'state.ended': 'Ended',
  'state.cancelled': 'Cancelled',
  'state.expired': 'Expired',

  'esc.warning': 'Warning: not accepted for a long time',
  'esc.overdue': 'Overdue: not accepted in time',

  'presence.label': 'My status',
  'presence.available': 'Available',
  'presence.busy': 'Busy',
  'presence.away': 'Away',
  'presence.offline': 'Offline',
  'presence.changed': 'Your status: {status}.',
  'presence.autoBusy': 'Your status is “Busy” while you are in the consultation room.',

  'specialty.cardiology': 'Cardiology',
  'specialty.neurology': 'Neurology',
  'specialty.pulmonology': 'Pulmonology',
  'specialty.pediatrics': 'Paediatrics',
  'specialty.surgery': 'Surgery',
  'specialty.traumatology': 'Traumatology and orthopaedics',
  'specialty.oncology': 'Oncology',
  'specialty.infectious-diseases': 'Infectious diseases',
  'specialty.obstetrics': 'Obstetrics and gynaecology',
  'specialty.psychiatry': 'Psychiatry',

  'c.born': 'born {date}',
  'c.age': 'age {age}',
  'c.specialist': 'Specialist: {name}',
  'c.clinician': 'Requested by: {name}',
  'c.fromCentre': 'from centre {tenant}',
  'c.routedTo': 'Routed to centre {tenant}',
  'c.requestedAt': 'Requested {time}',
  'c.waiting': 'waiting {dur}',
  'c.acceptBy': 'Accept by {time}: {left} left',
  'c.overdue': 'Acceptance deadline {time} passed {ago} ago',
  'c.acceptedAt': 'Accepted {time}',
  'c.startedAt': 'Started {time}',
  'c.endedAt': 'Finished {time}',
  'c.reason': 'Reason',

  'act.cancel': 'Cancel request',
  'act.join': 'Join',
  'act.open': 'Open case',
  'act.accept': 'Accept',
  'act.decline': 'Decline',
  'act.end': 'End consultation',
  'act.leave': 'Leave room',
  'act.assign': 'Assign',
  'act.route': 'Route',
  'act.back': 'Back to the list',
  'act.dismiss': 'Dismiss',
  'act.dismissAll': 'Dismiss all',
  'act.keep': 'Go back',
  'act.for': '{action}: {patient}',

  'confirm.cancel.title': 'Cancel this request?',
  'confirm.cancel.body': 'The request for {patient} ({specialty}) will be cancelled, and specialists will no longer see it.',
  'confirm.cancel.ok': 'Cancel request',
  'confirm.decline.title': 'Decline this request?',
  'confirm.decline.body': 'The request for {patient} will no longer be offered to you. Other specialists still see it.',
  'confirm.decline.ok': 'Decline',
  'confirm.end.title': 'End the consultation?',
  'confirm.end.body': 'The consultation for {patient} ends for all participants. It cannot be reopened.',
  'confirm.end.ok': 'End consultation',

  'ann.offered': 'New request: {urgency}, {specialty}, {patient}.',
  'ann.state': '{patient}: {state}.',
  'ann.taken': 'The request for {patient} was taken by another specialist.',
  'ann.gone': 'The request for {patient} left your queue.',
  'ann.accepted': 'You accepted the request for {patient}.',
  'ann.declined': 'You declined the request for {patient}.',
  'ann.cancelled': 'The request for {patient} was cancelled.',
  'ann.assigned': '{specialist} is assigned to {patient}.',
  'ann.routed': 'The request for {patient} was routed to {tenant}.',

  'clin.mine': 'My requests',
  'clin.open': 'Open',
  'clin.empty': 'No requests yet. Fill in the form to request a consultation.',
  'list.finished': 'Finished ({n})',

  'spec.queue': 'Requests waiting',
  'spec.queueHint': 'Most urgent first, then by acceptance deadline.',
  'spec.notAvailable': 'You are not marked available, so new requests are not offered to you. Choose “Available” above to receive them.',
  'spec.empty': 'No requests are waiting for your specialties.',
  'spec.mine': 'My consultations',
  'spec.mineEmpty': 'No accepted consultations.',

  'coord.alerts': 'Escalations',
  'coord.alert.warning': 'Warning: {patient} ({urgency}, {specialty}) has not been accepted yet.',
  'coord.alert.overdue': 'Overdue: {patient} ({urgency}, {specialty}) was not accepted by the deadline.',
  'coord.alert.at': 'at {time}',
  'coord.queue': 'Queue of the centre',
  'coord.queueEmpty': 'The queue is empty.',
  'coord.live': 'Consultations under way',
  'coord.liveEmpty': 'No accepted or running consultations.',
  'coord.specialists': 'Specialists',
  'coord.specEmpty': 'No specialist of the centre has signed in yet.',
  'coord.counts': '{available} available of {total}',

  'assign.title': 'Assign a specialist',
  'assign.label': 'Specialist ({specialty})',
  'assign.none': 'No specialist with this specialty has signed in at your centre yet.',
  'assign.option': '{name} — {status}',
  'route.title': 'Route to another centre',
  'route.label': 'Code of the centre',
  'route.hint': 'The code of a regional centre your centre may route requests to, for example vologda.',

  'p.present': 'in the room',
  'p.notJoined': 'has not joined yet',
  'p.left': 'left at {time}',
  'p.you': '(you)',

  'call.title': 'Consultation room',
  'call.media': 'Video call',
  'call.mediaPlaceholder': 'The video call starts when you are in the room.',
  'call.mediaDeferred': 'A deferred consultation has no video call.',
  'call.mediaEnded': 'The video call is over.',
  'call.mediaUnavailable': 'Video calls are not available on this server. Who is in the room is shown in the list of participants.',
  'call.mediaUnsupported': 'This browser cannot make video calls. Use a current version of Chrome, Firefox, Edge or Yandex Browser.',
  'call.media.status.devices': 'Turning on the camera and microphone…',
  'call.media.status.connecting': 'Connecting video…',
  'call.media.status.connected': 'Video connected',
  'call.media.status.reconnecting': 'Video link lost, reconnecting…',
  'call.media.status.failed': 'No video connection',
  'call.media.status.closed': 'Video stopped by the server',
  'call.media.waiting': 'Waiting for the other participants to join the video call…',
  'call.media.connectingOthers': 'Connecting to the other participants…',
  'call.media.you': 'You',
  'call.media.screenOf': 'Screen: {name}',
  'call.media.weakLink': 'No video (weak link)',
  'call.media.micOff': 'Microphone off',
  'call.media.camOff': 'Camera off',
  'call.media.mic': 'Microphone',
  'precall.title': 'Camera and microphone check',
  'precall.camera': 'Camera',
  'precall.mic': 'Microphone',
  'precall.level': 'Sound level',
  'precall.device': 'Device {n}',
  'precall.hint': 'The call uses the devices chosen here.',
  'call.media.micOffShort': 'Microphone off',
  'call.media.camera': 'Camera',
  'call.media.cameraOffShort': 'Camera off',
  'call.media.muteMic': 'Turn the microphone off',
  'call.media.unmuteMic': 'Turn the microphone on',
  'call.media.camOffAct': 'Turn the camera off',
  'call.media.camOnAct': 'Turn the camera on',
  'call.media.noMicShort': 'No microphone',
  'call.media.noCameraShort': 'No camera',
  'call.media.screen': 'Share screen',
  'call.media.stopScreen': 'Stop sharing',
  'call.media.reconnect': 'Reconnect video',
  'call.media.noDevices': 'The camera and microphone are not available ({reason}). You see and hear the others, but they neither see nor hear you.',
  'call.media.noCamera': 'The camera is not available ({reason}): the others hear you but do not see you.',
  'call.media.noMic': 'The microphone is not available ({reason}): the others see you but do not hear you.',
  'call.media.reason.denied': 'access was refused: allow the camera and microphone for this site in the browser’s address bar',
  'call.media.reason.notFound': 'none is connected',
  'call.media.reason.busy': 'another program is using it',
  'call.media.reason.other': 'device error',
  'call.media.retryDevices': 'Try the camera and microphone again',
  'call.media.screenFailed': 'Screen sharing did not start ({reason}).',
  'call.media.soundBlocked': 'The browser is holding back the sound of this call.',
  'call.media.enableSound': 'Turn on sound',
  'call.media.err.unsupported': 'Video calls are not available on this server.',
  'call.media.err.limit': 'The video call is full (at most {n} participants with video). Try “Reconnect video” when someone leaves.',
  'call.media.err.wrong_state': 'Video is possible only in an accepted consultation, while you are in the room.',
  'call.media.err.invalid': 'The server could not use this browser’s video settings. Reload the page; if it happens again, tell the centre’s support.',
  'call.media.err.answer': 'This browser could not use the server’s answer. Press “Reconnect video”; if it happens again, tell the centre’s support.',
  'call.media.err.timeout': 'The server did not answer the video request in time. Trying again…',
  'call.q.line': '{level} · loss {loss} % · RTT {rtt} ms · ↑ {up} ↓ {down} kbit/s',
  'call.q.title': 'Link to the server: packet loss, round-trip time, bitrate sent (↑) and received (↓)',
  'call.q.good': 'Good link',
  'call.q.fair': 'Fair link',
  'call.q.poor': 'Poor link',
  'call.q.unknown': 'Link',
  'call.q.self.good': 'Your link: good',
  'call.q.self.fair': 'Your link: fair',
  'call.q.self.poor': 'Your link: poor',
  'call.q.self.unknown': 'Your link',
  'call.participants': 'Participants',
  'call.details': 'About the consultation',
  'call.joining': 'Entering the room…',
  'call.inRoom': 'You are in the room.',
  'call.notInRoom': 'You are not in the room.',
  'call.rejoin': 'Enter the room again',
  'call.notFound': 'This consultation is not available to you.',
  'call.ended': 'The consultation ended at {time}.',
  'call.cancelled': 'The request was cancelled at {time}.',
  'call.expired': 'The request expired at {time} before it was accepted.',
  'call.notOpen': 'The room is not open yet: the consultation has to be accepted first.',
  'call.left': 'You left the room.',

  'guest.title': 'Your consultation',
  'guest.empty': 'The consultation is not available: it may be over.',

  'dur.lessMinute': 'less than a minute',
  'dur.min': '{n} min',
  'dur.h': '{n} h',
  'dur.hmin': '{h} h {m} min',
  'dur.d': '{n} d',
  'dur.dh': '{d} d {h} h',
  'age.years': { one: '{n} year', other: '{n} years' },
  'age.months': { one: '{n} month', other: '{n} months' },
  'age.days': { one: '{n} day', other: '{n} days' },
};

const ru = {
  'app.tagline': 'Телемедицинские консультации',
  'app.skip': 'Перейти к основному содержимому',
  'app.connecting': 'Подключение к центру…',

  'header.centre': 'Центр',
  'header.signout': 'Выйти',
  'header.lang': 'Язык',
  'header.user': 'Вы вошли как',
  'conn.online': 'Связь есть',
  'conn.reconnecting': 'Переподключение…',

  'role.clinician': 'Лечащий врач',
  'role.specialist': 'Консультант',
  'role.coordinator': 'Координатор',
  'role.patient': 'Пациент',
  'role.interpreter': 'Переводчик',

  'banner.lost': 'Связь с центром потеряна.',
  'banner.retryIn': 'Следующая попытка через {s} с (попытка {n}).',
  'banner.retrying': 'Переподключение…',
  'banner.retryNow': 'Повторить сейчас',
  'banner.hint': 'Данные не потеряны: списки обновятся, как только связь восстановится.',
  'status.reconnected': 'Связь восстановлена.',
  'session.expiring': 'Сеанс завершится в {time}. Чтобы продолжить работу после этого, откройте новую ссылку от центра.',

  'signin.title': 'Вход в Consilium',
  'signin.lead': 'Откройте персональную ссылку, которую прислал региональный центр (по электронной почте или в медицинской информационной системе). Ссылка выполняет вход сама.',
  'signin.guestLead': 'Пациенты и переводчики, приглашённые на консультацию: откройте полученную ссылку-приглашение.',
  'signin.pasteLabel': 'Или вставьте сюда ссылку или код входа',
  'signin.pasteHint': 'Ссылка выглядит так: https://…/#token=… или https://…/#invite=…',
  'signin.submit': 'Войти',
  'signin.bad': 'Это не похоже на ссылку или код входа. Скопируйте ссылку целиком и попробуйте снова.',
  'signin.empty': 'Сначала вставьте ссылку.',
  'signin.signedOut': 'Вы вышли из системы. Чтобы войти снова, откройте свою ссылку.',
  'signin.privacy': 'Ссылка персональная: не пересылайте её. Она хранится только в этой вкладке браузера и удаляется из адресной строки.',

  'auth.unauthenticated': 'Ссылка для входа не принята: возможно, она скопирована не полностью или выдана для другой системы. Запросите новую ссылку в центре.',
  'auth.expired': 'Срок действия ссылки для входа истёк. Запросите новую ссылку в центре.',
  'auth.sessionExpired': 'Сеанс завершён: истёк срок действия ссылки для входа. Откройте новую ссылку от центра.',
  'auth.inviteRefused': 'Приглашение не принято: возможно, истёк срок его действия или консультация уже завершена.',

  'err.invalid': 'Сервер отклонил запрос: данные заполнены неверно. Проверьте введённые сведения и повторите.',
  'err.invalidField': 'Сервер не принял поле «{field}». Проверьте его и повторите.',
  'err.unsupported': 'Сервер центра не поддерживает это действие. Обновите страницу; если ошибка повторится, сообщите в поддержку центра.',
  'err.unauthenticated': 'Вход не выполнен или ссылка для входа не принята. Откройте ссылку от центра ещё раз.',
  'err.expired': 'Срок действия ссылки для входа или приглашения истёк. Запросите новую в центре.',
  'err.forbidden': 'Это действие недоступно для вашей роли или вашего центра.',
  'err.not_found': 'Консультация (или пользователь) не найдена либо недоступна вам.',
  'err.wrong_state': 'Действие невозможно в текущем состоянии консультации. В списке показано актуальное состояние.',
  'err.taken': 'Этот запрос уже принял другой консультант.',
  'err.exists': 'Это уже сделано.',
  'err.limit': 'Достигнут лимит (слишком много действий, участников или открытых запросов). Подождите немного и повторите.',
  'err.storage': 'Сервер не смог сохранить изменение; ничего не изменилось. Повторите попытку.',
  'err.no_memory': 'Сервер перегружен; ничего не изменилось. Повторите через несколько минут.',
  'err.offline': 'Нет связи с центром: действие не отправлено. Повторите, когда связь восстановится.',
  'err.timeout': 'Центр не ответил вовремя. Проверьте список: действие могло не выполниться.',
  'err.disconnected': 'Связь прервалась до ответа центра. После переподключения проверьте список: действие могло не выполниться.',
  'err.unknown': 'Непредвиденная ошибка ({code}). Повторите; если ошибка повторится, сообщите в поддержку центра.',
  'err.request.limit': 'У вас слишком много открытых запросов, или сервис перегружен. Сначала отмените или завершите часть запросов.',
  'err.accept.not_found': 'Этот запрос вам больше недоступен (отменён, направлен в другой центр или принят).',
  'err.accept.wrong_state': 'Этот запрос отменён или истёк его срок.',
  'err.decline.wrong_state': 'Этого запроса уже нет в очереди.',
  'err.cancel.wrong_state': 'Запрос уже нельзя отменить: консультация началась или завершена.',
  'err.join.wrong_state': 'Комната закрыта: консультация ещё не принята или уже завершена.',
  'err.end.wrong_state': 'Консультацию нельзя завершить: она ещё не принята или уже завершена.',
  'err.assign.not_found': 'Такой консультант ещё не входил в систему в вашем центре.',
  'err.assign.forbidden': 'У консультанта нет нужной специальности, или запрос принадлежит другому центру.',
  'err.route.forbidden': 'Вашему центру не разрешено направлять запросы в этот центр.',
  'err.route.exists': 'Запрос уже направлен в этот центр.',
  'err.route.not_found': 'Запрос или центр не найден.',
  'err.presence.forbidden': 'Статус доступности устанавливают только консультанты.',
  'err.presence.wrong_state': 'Статус можно изменить только при наличии связи с центром.',
  'close.1001': 'Сервер центра перезапускается.',
  'close.1003': 'Сервер разорвал соединение (неожиданные данные).',
  'close.1006': 'Сетевое соединение прервалось.',
  'close.1008': 'Сервер закрыл соединение (слишком много сообщений или слишком медленный канал).',
  'close.1009': 'Сообщение оказалось слишком большим для сервера.',
  'close.1011': 'Сервер не смог начать сеанс.',
  'close.1013': 'К серверу сейчас подключено слишком много пользователей.',
  'close.4002': 'Вход занял слишком много времени.',
  'close.heartbeat': 'Центр перестал отвечать.',

  'field.patient.id': 'Идентификатор пациента',
  'field.patient.name': 'ФИО пациента',
  'field.patient.birth_date': 'Дата рождения',
  'field.specialty': 'Профиль (специальность)',
  'field.urgency': 'Форма оказания помощи',
  'field.mode': 'Режим консультации',
  'field.reason': 'Повод для консультации',
  'field.tenant': 'Код центра',
  'field.specialist': 'Консультант',

  'form.title': 'Новый запрос на консультацию',
  'form.patient': 'Пациент',
  'form.patientId': 'Идентификатор пациента',
  'form.patientId.hint': 'СНИЛС, номер полиса ОМС или номер медицинской карты',
  'form.patientName': 'ФИО',
  'form.birthDate': 'Дата рождения',
  'form.request': 'Запрос',
  'form.specialty': 'Профиль (специальность)',
  'form.choose': '— выберите —',
  'form.urgency': 'Форма оказания медицинской помощи',
  'form.deadlinesNote': 'Указаны сроки по умолчанию; точный срок принятия будет показан в запросе после отправки.',
  'form.mode': 'Режим консультации',
  'form.reason': 'Повод для консультации',
  'form.reason.hint': 'Жалобы, основные данные осмотра и обследований, вопрос к консультанту.',
  'form.noAttachments': 'Вложения (ЭКГ, снимки, анализы) пока не поддерживаются: опишите основные данные в тексте.',
  'form.submit': 'Отправить запрос',
  'form.sending': 'Отправка…',
  'form.clear': 'Очистить форму',
  'form.sent': 'Запрос отправлен: {patient}, {specialty}.',
  'form.fix': 'Исправьте отмеченные поля.',
  'form.serverRefused': 'Запрос не отправлен.',

  'v.required': 'Заполните это поле.',
  'v.choose': 'Выберите один из вариантов.',
  'v.tooLong': 'Слишком длинно: сократите примерно на {over} зн.',
  'v.control': 'Удалите служебные (управляющие) символы.',
  'v.date': 'Введите корректную дату.',
  'v.dateFuture': 'Дата рождения не может быть в будущем.',
  'v.dateOld': 'Проверьте год рождения.',
  'v.slug': 'Введите код центра: строчные латинские буквы, цифры, «-» или «_».',
  'v.sameCentre': 'Это ваш собственный центр.',

  'urgency.emergency': 'Экстренная',
  'urgency.urgent': 'Неотложная',
  'urgency.planned': 'Плановая',
  'urgency.emergency.hint': 'Угроза жизни пациента. Запрос принимается не позднее чем через 2 часа, обычно — в течение минут.',
  'urgency.urgent.hint': 'Без явных признаков угрозы жизни, но помощь нужна в ближайшее время. Запрос принимается в течение 24 часов.',
  'urgency.planned.hint': 'Угрозы жизни нет; отсрочка не ухудшит состояние пациента. Запрос принимается в течение 7 дней.',

  'mode.realtime': 'В режиме реального времени (видеосвязь)',
  'mode.deferred': 'Отложенная консультация',
  'mode.realtime.hint': 'Консультант подключается к видеосвязи с вами и пациентом.',
  'mode.deferred.hint': 'Консультант изучает случай и позже даёт заключение.',
  'mode.realtime.short': 'Видеосвязь',
  'mode.deferred.short': 'Отложенная',

  'state.requested': 'Ожидает консультанта',
  'state.offered': 'Предложена консультантам',
  'state.accepted': 'Принята',
  'state.in_progress': 'Идёт',
  'state.ended': 'Завершена',
  'state.cancelled': 'Отменена',
  'state.expired': 'Срок истёк',

  'esc.warning': 'Предупреждение: запрос долго не принимают',
  'esc.overdue': 'Просрочен: не принят в срок',

  'presence.label': 'Мой статус',
  'presence.available': 'Доступен',
  'presence.busy': 'Занят',
  'presence.away': 'Нет на месте',
  'presence.offline': 'Не в сети',
  'presence.changed': 'Ваш статус: {status}.',
  'presence.autoBusy': 'Пока вы в комнате консультации, ваш статус — «Занят».',

  'specialty.cardiology': 'Кардиология',
  'specialty.neurology': 'Неврология',
  'specialty.pulmonology': 'Пульмонология',
  'specialty.pediatrics': 'Педиатрия',
  'specialty.surgery': 'Хирургия',
  'specialty.traumatology': 'Травматология и ортопедия',
  'specialty.oncology': 'Онкология',
  'specialty.infectious-diseases': 'Инфекционные болезни',
  'specialty.obstetrics': 'Акушерство и гинекология',
  'specialty.psychiatry': 'Психиатрия',

  'c.born': 'дата рождения {date}',
  'c.age': 'возраст {age}',
  'c.specialist': 'Консультант: {name}',
  'c.clinician': 'Лечащий врач: {name}',
  'c.fromCentre': 'из центра {tenant}',
  'c.routedTo': 'Направлен в центр {tenant}',
  'c.requestedAt': 'Запрос от {time}',
  'c.waiting': 'ожидает {dur}',
  'c.acceptBy': 'Принять до {time}: осталось {left}',
  'c.overdue': 'Срок принятия ({time}) истёк {ago} назад',
  'c.acceptedAt': 'Принята {time}',
  'c.startedAt': 'Начата {time}',
  'c.endedAt': 'Окончена {time}',
  'c.reason': 'Повод',

  'act.cancel': 'Отменить запрос',
  'act.join': 'Подключиться',
  'act.open': 'Открыть случай',
  'act.accept': 'Принять',
  'act.decline': 'Отказаться',
  'act.end': 'Завершить консультацию',
  'act.leave': 'Покинуть комнату',
  'act.assign': 'Назначить',
  'act.route': 'Направить',
  'act.back': 'Вернуться к списку',
  'act.dismiss': 'Скрыть',
  'act.dismissAll': 'Скрыть все',
  'act.keep': 'Назад',
  'act.for': '{action}: {patient}',

  'confirm.cancel.title': 'Отменить запрос?',
  'confirm.cancel.body': 'Запрос по пациенту {patient} ({specialty}) будет отменён, и консультанты перестанут его видеть.',
  'confirm.cancel.ok': 'Отменить запрос',
  'confirm.decline.title': 'Отказаться от запроса?',
  'confirm.decline.body': 'Запрос по пациенту {patient} больше не будет вам предлагаться. Другие консультанты продолжат его видеть.',
  'confirm.decline.ok': 'Отказаться',
  'confirm.end.title': 'Завершить консультацию?',
  'confirm.end.body': 'Консультация по пациенту {patient} будет завершена для всех участников. Возобновить её нельзя.',
  'confirm.end.ok': 'Завершить консультацию',

  'ann.offered': 'Новый запрос: {urgency}, {specialty}, {patient}.',
  'ann.state': '{patient}: {state}.',
  'ann.taken': 'Запрос по пациенту {patient} принял другой консультант.',
  'ann.gone': 'Запрос по пациенту {patient} больше не в вашей очереди.',
  'ann.accepted': 'Вы приняли запрос по пациенту {patient}.',
  'ann.declined': 'Вы отказались от запроса по пациенту {patient}.',
  'ann.cancelled': 'Запрос по пациенту {patient} отменён.',
  'ann.assigned': 'Консультант {specialist} назначен: {patient}.',
  'ann.routed': 'Запрос по пациенту {patient} направлен в центр {tenant}.',

  'clin.mine': 'Мои запросы',
  'clin.open': 'Открытые',
  'clin.empty': 'Запросов пока нет. Заполните форму, чтобы запросить консультацию.',
  'list.finished': 'Завершённые ({n})',

  'spec.queue': 'Запросы в очереди',
  'spec.queueHint': 'Сначала самые срочные, затем по сроку принятия.',
  'spec.notAvailable': 'Ваш статус не «Доступен», поэтому новые запросы вам не предлагаются. Выберите «Доступен» вверху, чтобы получать их.',
  'spec.empty': 'Запросов по вашим специальностям нет.',
  'spec.mine': 'Мои консультации',
  'spec.mineEmpty': 'Принятых консультаций нет.',

  'coord.alerts': 'Эскалации',
  'coord.alert.warning': 'Предупреждение: запрос по пациенту {patient} ({urgency}, {specialty}) ещё не принят.',
  'coord.alert.overdue': 'Просрочен: запрос по пациенту {patient} ({urgency}, {specialty}) не принят в срок.',
  'coord.alert.at': 'в {time}',
  'coord.queue': 'Очередь центра',
  'coord.queueEmpty': 'Очередь пуста.',
  'coord.live': 'Текущие консультации',
  'coord.liveEmpty': 'Принятых или идущих консультаций нет.',
  'coord.specialists': 'Консультанты',
  'coord.specEmpty': 'Консультанты центра ещё не входили в систему.',
  'coord.counts': 'доступны {available} из {total}',

  'assign.title': 'Назначить консультанта',
  'assign.label': 'Консультант ({specialty})',
  'assign.none': 'Консультанты с этой специальностью ещё не входили в систему в вашем центре.',
  'assign.option': '{name} — {status}',
  'route.title': 'Направить в другой центр',
  'route.label': 'Код центра',
  'route.hint': 'Код регионального центра, в который вашему центру разрешено направлять запросы, например vologda.',

  'p.present': 'в комнате',
  'p.notJoined': 'ещё не подключался(-ась)',
  'p.left': 'вышел(-ла) в {time}',
  'p.you': '(вы)',

  'call.title': 'Комната консультации',
  'call.media': 'Видеосвязь',
  'call.mediaPlaceholder': 'Видеосвязь начнётся, когда вы войдёте в комнату.',
  'call.mediaDeferred': 'В отложенной консультации видеосвязи нет.',
  'call.mediaEnded': 'Видеосвязь завершена.',
  'call.mediaUnavailable': 'На этом сервере видеосвязь недоступна. Кто находится в комнате, видно в списке участников.',
  'call.mediaUnsupported': 'Этот браузер не поддерживает видеосвязь. Используйте актуальную версию Chrome, Firefox, Edge или Яндекс Браузера.',
  'call.media.status.devices': 'Включение камеры и микрофона…',
  'call.media.status.connecting': 'Подключение видеосвязи…',
  'call.media.status.connected': 'Видеосвязь установлена',
  'call.media.status.reconnecting': 'Связь прервалась, переподключение…',
  'call.media.status.failed': 'Видеосвязь не установлена',
  'call.media.status.closed': 'Сервер остановил видеосвязь',
  'call.media.waiting': 'Ожидание других участников видеосвязи…',
  'call.media.connectingOthers': 'Подключение к другим участникам…',
  'call.media.you': 'Вы',
  'call.media.screenOf': 'Экран: {name}',
  'call.media.weakLink': 'Нет видео (слабый канал)',
  'call.media.micOff': 'Микрофон выключен',
  'call.media.camOff': 'Камера выключена',
  'call.media.mic': 'Микрофон',
  'precall.title': 'Проверка камеры и микрофона',
  'precall.camera': 'Камера',
  'precall.mic': 'Микрофон',
  'precall.level': 'Уровень звука',
  'precall.device': 'Устройство {n}',
  'precall.hint': 'В звонке будут использованы выбранные здесь устройства.',
  'call.media.micOffShort': 'Микрофон выкл.',
  'call.media.camera': 'Камера',
  'call.media.cameraOffShort': 'Камера выкл.',
  'call.media.muteMic': 'Выключить микрофон',
  'call.media.unmuteMic': 'Включить микрофон',
  'call.media.camOffAct': 'Выключить камеру',
  'call.media.camOnAct': 'Включить камеру',
  'call.media.noMicShort': 'Микрофона нет',
  'call.media.noCameraShort': 'Камеры нет',
  'call.media.screen': 'Демонстрация экрана',
  'call.media.stopScreen': 'Остановить демонстрацию',
  'call.media.reconnect': 'Переподключить видео',
  'call.media.noDevices': 'Камера и микрофон недоступны ({reason}). Вы видите и слышите остальных, но они вас — нет.',
  'call.media.noCamera': 'Камера недоступна ({reason}): вас слышат, но не видят.',
  'call.media.noMic': 'Микрофон недоступен ({reason}): вас видят, но не слышат.',
  'call.media.reason.denied': 'доступ запрещён: разрешите этому сайту камеру и микрофон в адресной строке браузера',
  'call.media.reason.notFound': 'устройство не подключено',
  'call.media.reason.busy': 'устройство занято другой программой',
  'call.media.reason.other': 'ошибка устройства',
  'call.media.retryDevices': 'Повторить подключение камеры и микрофона',
  'call.media.screenFailed': 'Демонстрация экрана не началась ({reason}).',
  'call.media.soundBlocked': 'Браузер не воспроизводит звук этого звонка.',
  'call.media.enableSound': 'Включить звук',
  'call.media.err.unsupported': 'На этом сервере видеосвязь недоступна.',
  'call.media.err.limit': 'В видеосвязи нет мест (не более {n} участников с видео). Нажмите «Переподключить видео», когда кто-нибудь выйдет.',
  'call.media.err.wrong_state': 'Видеосвязь возможна только в принятой консультации, пока вы находитесь в комнате.',
  'call.media.err.invalid': 'Сервер не смог принять параметры видео этого браузера. Обновите страницу; если ошибка повторится, сообщите в службу поддержки центра.',
  'call.media.err.answer': 'Браузер не смог принять ответ сервера. Нажмите «Переподключить видео»; если ошибка повторится, сообщите в службу поддержки центра.',
  'call.media.err.timeout': 'Сервер вовремя не ответил на запрос видеосвязи. Повторная попытка…',
  'call.q.line': '{level} · потери {loss} % · задержка {rtt} мс · ↑ {up} ↓ {down} кбит/с',
  'call.q.title': 'Связь с сервером: потери пакетов, время приёма-передачи, скорость отправки (↑) и получения (↓)',
  'call.q.good': 'Связь хорошая',
  'call.q.fair': 'Связь с помехами',
  'call.q.poor': 'Связь плохая',
  'call.q.unknown': 'Связь',
  'call.q.self.good': 'Ваша связь: хорошая',
  'call.q.self.fair': 'Ваша связь: с помехами',
  'call.q.self.poor': 'Ваша связь: плохая',
  'call.q.self.unknown': 'Ваша связь',
  'call.participants': 'Участники',
  'call.details': 'О консультации',
  'call.joining': 'Вход в комнату…',
  'call.inRoom': 'Вы в комнате.',
  'call.notInRoom': 'Вы не в комнате.',
  'call.rejoin': 'Войти в комнату снова',
  'call.notFound': 'Эта консультация вам недоступна.',
  'call.ended': 'Консультация завершена в {time}.',
  'call.cancelled': 'Запрос отменён в {time}.',
  'call.expired': 'Срок запроса истёк в {time}: его так и не приняли.',
  'call.notOpen': 'Комната ещё не открыта: консультацию сначала должен принять консультант.',
  'call.left': 'Вы покинули комнату.',

  'guest.title': 'Ваша консультация',
  'guest.empty': 'Консультация недоступна: возможно, она уже завершена.',

  'dur.lessMinute': 'меньше минуты',
  'dur.min': '{n} мин',
  'dur.h': '{n} ч',
  'dur.hmin': '{h} ч {m} мин',
  'dur.d': '{n} дн.',
  'dur.dh': '{d} дн. {h} ч',
  'age.years': { one: '{n} год', few: '{n} года', many: '{n} лет', other: '{n} года' },
  'age.months': { one: '{n} месяц', few: '{n} месяца', many: '{n} месяцев', other: '{n} месяца' },
  'age.days': { one: '{n} день', few: '{n} дня', many: '{n} дней', other: '{n} дня' },
};

export const DICTIONARIES = { en, ru };

function detect() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(saved)) return saved;
  } catch { /* storage may be unavailable */ }
  const nav = (navigator.languages && navigator.languages[0]) || navigator.language || 'ru';
  return nav.toLowerCase().startsWith('en') ? 'en' : 'ru';
}

let lang = detect();
const target = new EventTarget();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  document.documentElement.lang = next;
  applyI18n(document);
  target.dispatchEvent(new Event('langchange'));
}

export function onLangChange(fn) {
  target.addEventListener('langchange', fn);
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (m, k) => (params && params[k] !== undefined ? String(params[k]) : m));
}

/** The text for key in the current language (English, then the key, as fallbacks). */
export function t(key, params) {
  const d = DICTIONARIES[lang];
  let s = d[key] ?? en[key];
  if (s === undefined) return key;
  if (typeof s === 'object') s = s.other;
  return fill(s, params);
}

export function has(key) {
  return DICTIONARIES[lang][key] !== undefined || en[key] !== undefined;
}

/** Plural-aware text: entry is {one, few, many, other}; {n} is filled in. */
export function tn(key, n, params = {}) {
  const d = DICTIONARIES[lang];
  const entry = d[key] ?? en[key];
  if (typeof entry !== 'object') return t(key, { n, ...params });
  const form = new Intl.PluralRules(lang === 'ru' ? 'ru-RU' : 'en-GB').select(n);
  return fill(entry[form] ?? entry.other, { n, ...params });
}

/** Translates static markup: data-i18n (text), data-i18n-label (aria-label),
 *  data-i18n-placeholder, data-i18n-title. */
export function applyI18n(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
}

function locale() {
  return lang === 'ru' ? 'ru-RU' : 'en-GB';
}

/** "14:32" today, "23 Nov, 14:32" (or "23 нояб., 14:32") on other days; nowMs is the server-corrected now. */
export function fmtTime(ms, nowMs = Date.now()) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const same = new Date(nowMs).toDateString() === d.toDateString();
  const opts = same ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** A YYYY-MM-DD calendar date as "02.03.1956" / "02/03/1956" (no time zone shift). */
export function fmtDate(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return ymd || '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return new Intl.DateTimeFormat(locale(), { day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC' }).format(d);
}

/** A duration, coarse enough to read at a glance: "1 h 59 min", "2 d 3 h", "less than a minute". */
export function fmtDuration(ms) {
  const min = Math.floor(Math.max(0, ms) / 60000);
  if (min < 1) return t('dur.lessMinute');
  if (min < 60) return t('dur.min', { n: min });
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? t('dur.hmin', { h, m: min % 60 }) : t('dur.h', { n: h });
  const d = Math.floor(h / 24);
  return h % 24 ? t('dur.dh', { d, h: h % 24 }) : t('dur.d', { n: d });
}

/** Age on the given (server) day from a YYYY-MM-DD birth date: years, or months/days for infants. */
export function fmtAge(ymd, nowMs = Date.now()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return '';
  const now = new Date(nowMs);
  const by = +m[1], bm = +m[2], bd = +m[3];
  let years = now.getFullYear() - by;
  let months = now.getMonth() + 1 - bm;
  if (now.getDate() < bd) months -= 1;
  if (months < 0) { years -= 1; months += 12; }
  if (years < 0) return '';
  if (years >= 2) return tn('age.years', years);
  const totalMonths = years * 12 + months;
  if (totalMonths >= 1) return tn('age.months', totalMonths);
  const days = Math.floor((Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()) - Date.UTC(by, bm - 1, bd)) / 86400000);
  return tn('age.days', Math.max(0, days));
}

export function specialtyLabel(slug) {
  return has(`specialty.${slug}`) ? t(`specialty.${slug}`) : slug;
}

document.documentElement.lang = lang;
